package client

// Joining by code (docs/protocol.md, "Joining by code"): a joiner with only
// the typed code gets the room secret from a member through the PAKE
// exchange of pake/, relayed by the server. SecretFromCode is the joiner;
// answerKnock is every member's side.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sotto/pake"
)

// ErrWrongCode is a code exchange that did not deliver the secret because
// the member's proof did not check out: the code is wrong (or the relay
// tampered with the exchange; the two look the same).
var ErrWrongCode = errors.New("client: wrong room code")

// knockWait bounds a whole exchange for the joiner; the server ends one
// after 20 s itself.
const knockWait = 30 * time.Second

// MaxAnsweredKnockFailures is how many failed exchanges this member answers
// for one nameplate before it answers no more. The server retires a code
// after 5 failures in the whole room; this bound holds even against a
// server that lies about counting: it then gets at most this many guesses
// per member and code. Since the server also chooses nameplates,
// MaxAnsweredKnockFailuresTotal bounds them over every code of the room:
// a lying server gets at most that many guesses per member in all.
const (
	MaxAnsweredKnockFailures      = 5
	MaxAnsweredKnockFailuresTotal = 20
)

// Code returns this member's room code (nameplate and password part) as
// the app shows it, "" if the client has no secret to derive it from.
func (c *Client) Code() string {
	c.mu.Lock()
	plate := c.nameplate
	c.mu.Unlock()
	if c.cfg.Secret == nil || plate == "" {
		return ""
	}
	pw, err := pake.CodePassword(c.cfg.Secret, plate)
	if err != nil {
		return ""
	}
	code, _ := pake.FormatCode(plate, pw)
	return code
}

// ConnectByCode gets the room secret for a typed code, then connects as
// Connect does with it.
func ConnectByCode(ctx context.Context, cfg Config, code string) (*Client, error) {
	secret, err := secretFromCode(ctx, cfg, code)
	if err != nil {
		return nil, err
	}
	cfg.Secret = secret
	return Connect(ctx, cfg)
}

// SecretFromCode knocks at the room a typed code names, on a connection of
// its own, and returns the room secret a member sends. A wrong code ends
// in ErrWrongCode.
func SecretFromCode(ctx context.Context, url, code string) ([]byte, error) {
	return secretFromCode(ctx, Config{URL: url}, code)
}

// secretFromCode is SecretFromCode from cfg.URL, with cfg's LocalAddr and
// TLS.
func secretFromCode(ctx context.Context, cfg Config, code string) ([]byte, error) {
	plate, password, err := pake.ParseCode(code)
	if err != nil {
		return nil, err
	}
	j, msg1, err := pake.NewJoiner(plate, password)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, knockWait)
	defer cancel()
	in := make(chan *inMsg, 8)
	// The nameplate routes the knock to the node that minted it (route.go).
	knockURL, err := routedURL(cfg.URL, routeNameplateParam, plate)
	if err != nil {
		return nil, err
	}
	sig, err := dialSignaling(ctx, cfg, knockURL, func(m *inMsg) {
		if m.Type == "knock_data" || m.Type == "knock_done" {
			select {
			case in <- m:
			default: // the server relays at most two more: never full
			}
		}
	})
	if err != nil {
		return nil, err
	}
	defer sig.close()
	reply, err := sig.call(ctx, outMsg{Type: "knock", Nameplate: plate, Data: b64.EncodeToString(msg1)})
	if err != nil {
		return nil, err
	}
	id := reply.Knock
	next := func() ([]byte, error) {
		select {
		case m := <-in:
			if m.Knock != id {
				return nil, fmt.Errorf("client: a message of another exchange")
			}
			if m.Type == "knock_done" {
				return nil, fmt.Errorf("client: the code exchange ended: %s", m.Result)
			}
			return b64.DecodeString(m.Data)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-sig.done():
			return nil, ErrClosed
		}
	}
	msg2, err := next()
	if err != nil {
		return nil, err
	}
	msg3, err := j.Confirm(msg2)
	if err != nil {
		// Say so at once: the member stops waiting, the try is counted.
		_ = sig.send(&outMsg{Type: "knock_done", Knock: id})
		if errors.Is(err, pake.ErrWrongCode) {
			return nil, ErrWrongCode
		}
		return nil, err
	}
	if err := sig.send(&outMsg{Type: "knock_data", Knock: id, Data: b64.EncodeToString(msg3)}); err != nil {
		return nil, err
	}
	msg4, err := next()
	if err != nil {
		return nil, err
	}
	return j.Open(msg4)
}

// answerKnock is the member's side of an exchange, on the signaling
// reader. A member without the secret (built from Keys) cannot answer, and
// says so by ending the exchange.
func (c *Client) answerKnock(m *inMsg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	plate := c.nameplate
	failed := func() {
		c.knockFails[plate]++
		c.knockFailsTotal++
	}
	// forget drops an exchange, counting it if the joiner had had our answer.
	forget := func() {
		if pm := c.knocks[m.Knock]; pm != nil && pm.Abort() != nil {
			failed()
		}
		delete(c.knocks, m.Knock)
	}
	end := func() {
		forget()
		_ = c.sig.send(&outMsg{Type: "knock_done", Knock: m.Knock})
	}
	switch m.Type {
	case "knock":
		data, err := b64.DecodeString(m.Data)
		if err != nil || c.cfg.Secret == nil || c.knockFails[plate] >= MaxAnsweredKnockFailures ||
			c.knockFailsTotal >= MaxAnsweredKnockFailuresTotal {
			end()
			return
		}
		pm, err := pake.NewMember(c.cfg.Secret, c.nameplate)
		if err != nil {
			end()
			return
		}
		msg2, err := pm.Respond(data)
		if err != nil {
			end()
			return
		}
		c.knocks[m.Knock] = pm
		_ = c.sig.send(&outMsg{Type: "knock_data", Knock: m.Knock, Data: b64.EncodeToString(msg2)})
	case "knock_data":
		pm := c.knocks[m.Knock]
		data, err := b64.DecodeString(m.Data)
		if pm == nil || err != nil {
			end()
			return
		}
		msg4, err := pm.Finish(data)
		if err != nil {
			failed() // the joiner did not prove the code
			delete(c.knocks, m.Knock)
			_ = c.sig.send(&outMsg{Type: "knock_done", Knock: m.Knock})
			return
		}
		delete(c.knocks, m.Knock)
		_ = c.sig.send(&outMsg{Type: "knock_data", Knock: m.Knock, Data: b64.EncodeToString(msg4)})
	case "knock_done":
		forget()
	}
}
