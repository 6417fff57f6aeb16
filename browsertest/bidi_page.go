package browsertest

import (
	"encoding/json"
	"fmt"
	"time"
)

// BiDiPage is one tab of a BiDiFirefox, in a browser context of its own
// (separate storage and service workers: another phone).
type BiDiPage struct {
	f  *BiDiFirefox
	id int
}

// NewPage opens a tab in a fresh browser context.
func (f *BiDiFirefox) NewPage() (*BiDiPage, error) {
	var id int
	if err := f.call(BiDiTimeout, &id, map[string]any{"op": "newPage"}); err != nil {
		return nil, err
	}
	return &BiDiPage{f: f, id: id}, nil
}

func (p *BiDiPage) do(out any, op string, args map[string]any) error {
	req := map[string]any{"op": op, "page": p.id, "timeoutMs": BiDiTimeout.Milliseconds()}
	for k, v := range args {
		req[k] = v
	}
	// The driver's own wait (timeoutMs) ends first and says what it waited for.
	return p.f.call(BiDiTimeout+10*time.Second, out, req)
}

// Goto loads url and waits for its load event.
func (p *BiDiPage) Goto(url string) error { return p.do(nil, "goto", map[string]any{"url": url}) }

// Eval runs a JavaScript expression, awaits it if it is a promise, and
// returns its value as JSON.
func (p *BiDiPage) Eval(expr string) (json.RawMessage, error) {
	var v json.RawMessage
	if err := p.do(&v, "eval", map[string]any{"expr": expr}); err != nil {
		return nil, fmt.Errorf("evaluating %.60q: %w", expr, err)
	}
	return v, nil
}

// EvalBiDi is Eval decoded into T, as Eval is for Chromium pages.
func EvalBiDi[T any](p *BiDiPage, expr string) (T, error) {
	var v T
	raw, err := p.Eval(expr)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("evaluating %.60q: %w", expr, err)
	}
	return v, nil
}

// The element methods find the one visible element with this role and
// accessible name in Firefox's accessibility tree, waiting for it up to
// BiDiTimeout, as assistive technology would find it.

// Click clicks the element's middle with the mouse.
func (p *BiDiPage) Click(role, name string) error {
	return p.do(nil, "click", map[string]any{"role": role, "name": name})
}

// Press puts the mouse button down on the element (and keeps it down).
func (p *BiDiPage) Press(role, name string) error {
	return p.do(nil, "press", map[string]any{"role": role, "name": name})
}

// Release lets the mouse button up over the element.
func (p *BiDiPage) Release(role, name string) error {
	return p.do(nil, "release", map[string]any{"role": role, "name": name})
}

// Type clicks into the element and types text, replacing what was there.
func (p *BiDiPage) Type(role, name, text string) error {
	return p.do(nil, "type", map[string]any{"role": role, "name": name, "text": text})
}

// Value returns the element's value (a text field's text).
func (p *BiDiPage) Value(role, name string) (string, error) {
	var v string
	err := p.do(&v, "value", map[string]any{"role": role, "name": name})
	return v, err
}

// Route makes this page get, for path, the server's own response with js
// put in front of it: a fault a test injects into the page's own code
// without the server knowing. Call it before the page requests path. A
// request a service worker answers is out of its reach: RouteHits counts
// only the responses that were changed.
func (p *BiDiPage) Route(path, js string) error {
	return p.do(nil, "route", map[string]any{"path": path, "prepend": js})
}

// RouteHits says how many times path was served through its Route.
func (p *BiDiPage) RouteHits(path string) (int, error) {
	var n int
	err := p.do(&n, "routeHits", map[string]any{"path": path})
	return n, err
}

// Errors lists the page's uncaught exceptions and console errors so far.
func (p *BiDiPage) Errors() ([]string, error) {
	var errs []string
	err := p.do(&errs, "errors", nil)
	return errs, err
}

// Close closes the tab and its browser context.
func (p *BiDiPage) Close() error { return p.do(nil, "closePage", nil) }
