package floorbench

// The child processes: Run re-executes the running binary with ChildFlag, as
// cmd/loadgen re-executes itself with -clients, and talks to each child in
// JSON over its stdin and stdout. Keys travel only on those pipes, never on
// a command line another user could read.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
)

// ChildFlag is the internal flag, without its dash, that makes a binary run
// one of Run's child processes: -floorbench-child=<role>. A command that
// calls Run must define it and, when it is set, call ServeChild instead of
// doing anything else.
const ChildFlag = "floorbench-child"

// The children's roles.
const (
	roleSender    = "sender"
	roleReceivers = "receivers"
)

// ServeChild runs the child process role (the value of ChildFlag) on the
// process's stdin and stdout and returns when the parent is done with it.
func ServeChild(role string, in io.Reader, out io.Writer) error {
	switch role {
	case roleSender:
		return serveSender(in, out)
	case roleReceivers:
		return serveReceivers(in, out)
	}
	return fmt.Errorf("floorbench: no child role %q", role)
}

// child is a running child process seen from the parent.
type child struct {
	role string
	cmd  *exec.Cmd
	in   io.WriteCloser
	enc  *json.Encoder
	dec  *json.Decoder
}

// startChild starts this binary as a child in role; ctx's end kills it.
func startChild(ctx context.Context, role string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, "-"+ChildFlag+"="+role)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &child{role: role, cmd: cmd, in: in, enc: json.NewEncoder(in), dec: json.NewDecoder(out)}, nil
}

// call sends req and reads the child's answer into resp.
func (c *child) call(req, resp any) error {
	if err := c.enc.Encode(req); err != nil {
		return fmt.Errorf("floorbench: to the %s: %w", c.role, err)
	}
	if err := c.dec.Decode(resp); err != nil {
		return fmt.Errorf("floorbench: from the %s: %w", c.role, err)
	}
	return nil
}

// close ends the child's input, which ends it, and waits for it.
func (c *child) close() error {
	_ = c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("floorbench: %s: %w", c.role, err)
	}
	return nil
}
