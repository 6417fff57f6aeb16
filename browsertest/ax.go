package browsertest

// Finding and using elements the way assistive technology does: by role and
// accessible name, from Chromium's own accessibility tree. A test that
// clicks "Hold to talk" this way also checks that the button is called that.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// Element is one visible node, found by role and accessible name.
type Element struct {
	page    context.Context
	backend cdp.BackendNodeID
	// Value is the node's accessible value when found (a text field's text).
	Value string
}

// Find returns the one element with this role and accessible name that is
// not hidden from assistive technology.
func Find(page context.Context, role, name string) (*Element, error) {
	doc, err := chromedp.Call(page, dom.GetDocument, dom.GetDocumentParams{})
	if err != nil {
		return nil, err
	}
	res, err := chromedp.Call(page, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
		BackendNodeID: doc.Root.BackendNodeID, Role: role, AccessibleName: name,
	})
	if err != nil {
		return nil, err
	}
	var found []*accessibility.Node
	for _, n := range res.Nodes {
		if !n.Ignored && n.BackendDOMNodeID != 0 {
			found = append(found, n)
		}
	}
	if len(found) != 1 {
		return nil, fmt.Errorf("%d visible %s elements named %q", len(found), role, name)
	}
	e := &Element{page: page, backend: found[0].BackendDOMNodeID}
	if v := found[0].Value; v != nil && len(v.Value) > 0 {
		var s string
		if json.Unmarshal(v.Value, &s) == nil {
			e.Value = s
		}
	}
	return e, nil
}

// WaitFind retries Find until it succeeds or timeout passes.
func WaitFind(page context.Context, role, name string, timeout time.Duration) (*Element, error) {
	deadline := time.Now().Add(timeout)
	for {
		e, err := Find(page, role, name)
		if err == nil || time.Now().After(deadline) {
			return e, err
		}
		select {
		case <-page.Done():
			return nil, page.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Center scrolls the element into view and returns its middle, in viewport
// coordinates.
func (e *Element) Center() (x, y float64, err error) {
	if _, err := chromedp.Call(e.page, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{BackendNodeID: e.backend}); err != nil {
		return 0, 0, err
	}
	box, err := chromedp.Call(e.page, dom.GetBoxModel, dom.GetBoxModelParams{BackendNodeID: e.backend})
	if err != nil {
		return 0, 0, err
	}
	q := box.Model.Border
	if len(q) < 8 {
		return 0, 0, fmt.Errorf("element has no box")
	}
	return (q[0] + q[2] + q[4] + q[6]) / 4, (q[1] + q[3] + q[5] + q[7]) / 4, nil
}

func (e *Element) mouse(typ input.DispatchMouseEventType, buttons int64) error {
	x, y, err := e.Center()
	if err != nil {
		return err
	}
	return chromedp.Do(e.page, chromedp.MouseEvent(typ, x, y, func(p *input.DispatchMouseEventParams) {
		p.Button = input.MouseButtonLeft
		p.Buttons = buttons
		p.ClickCount = 1
	}))
}

// Press puts the mouse button down on the element (and keeps it down).
func (e *Element) Press() error { return e.mouse(input.DispatchMouseEventTypeMousePressed, 1) }

// Release lets the mouse button up over the element.
func (e *Element) Release() error { return e.mouse(input.DispatchMouseEventTypeMouseReleased, 0) }

// Click presses and releases.
func (e *Element) Click() error {
	if err := e.Press(); err != nil {
		return err
	}
	return e.Release()
}

// Type focuses the element and types text into it, replacing what was there.
func (e *Element) Type(text string) error {
	if _, err := chromedp.Call(e.page, dom.Focus, dom.FocusParams{BackendNodeID: e.backend}); err != nil {
		return err
	}
	if _, err := Eval[bool](e.page, `(() => { document.activeElement.select?.(); return true; })()`); err != nil {
		return err
	}
	_, err := chromedp.Call(e.page, input.InsertText, input.InsertTextParams{Text: text})
	return err
}
