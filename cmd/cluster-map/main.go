// Command cluster-map writes the HAProxy map that sends a typed room code to
// its node (deploy/cluster/haproxy.cfg, docs/cluster.md): one line per node,
// its --node-prefix and its server name in haproxy.cfg.
//
//	go run ./cmd/cluster-map -o nameplates.map n0=1 n1=2 n2=3
//
// Each argument is SERVER=PREFIX. It refuses a node list HAProxy would
// route wrongly: a prefix that is not 1 to 3 digits, a server name HAProxy
// does not allow, a name or prefix given twice, or one prefix that begins
// another ("1" and "12": map_beg would send some of the second's codes to
// the first).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
)

// MaxPrefixDigits is the longest --node-prefix: each digit makes every code
// of the node one digit longer, and 3 digits name up to 1,000 nodes.
const MaxPrefixDigits = 3

// node is one line of the map.
type node struct{ server, prefix string }

// serverName is what HAProxy accepts as a server name (and what a map value
// must be to name one).
var serverName = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)

// parseNodes reads SERVER=PREFIX arguments and checks the set as a whole.
func parseNodes(args []string) ([]node, error) {
	if len(args) == 0 {
		return nil, errors.New("no nodes: give SERVER=PREFIX for each")
	}
	var nodes []node
	for _, a := range args {
		server, prefix, ok := strings.Cut(a, "=")
		if !ok || !serverName.MatchString(server) {
			return nil, fmt.Errorf("%q: want SERVER=PREFIX, SERVER a server name of haproxy.cfg", a)
		}
		if len(prefix) < 1 || len(prefix) > MaxPrefixDigits || strings.Trim(prefix, "0123456789") != "" {
			return nil, fmt.Errorf("%q: the prefix must be 1 to %d digits", a, MaxPrefixDigits)
		}
		nodes = append(nodes, node{server, prefix})
	}
	for i, a := range nodes {
		for _, b := range nodes[i+1:] {
			switch {
			case a.server == b.server:
				return nil, fmt.Errorf("server %s is given twice", a.server)
			case strings.HasPrefix(a.prefix, b.prefix) || strings.HasPrefix(b.prefix, a.prefix):
				return nil, fmt.Errorf("prefixes %s (%s) and %s (%s): one begins the other, so codes of one would reach the other",
					a.prefix, a.server, b.prefix, b.server)
			}
		}
	}
	slices.SortFunc(nodes, func(a, b node) int { return strings.Compare(a.prefix, b.prefix) })
	return nodes, nil
}

// writeMap writes the map file: a comment, then "PREFIX SERVER" lines.
func writeMap(w io.Writer, nodes []node) error {
	var b strings.Builder
	b.WriteString("# nameplate prefix -> HAProxy server (cmd/cluster-map; docs/cluster.md)\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "%s %s\n", n.prefix, n.server)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func main() {
	out := flag.String("o", "", "write the map to this file (default: standard output)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: cluster-map [-o FILE] SERVER=PREFIX ...")
		flag.PrintDefaults()
	}
	flag.Parse()
	nodes, err := parseNodes(flag.Args())
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster-map:", err)
		os.Exit(2)
	}
	w := io.Writer(os.Stdout)
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintln(os.Stderr, "cluster-map:", err)
			os.Exit(1)
		}
		defer f.Close()
		w = f
	}
	if err := writeMap(w, nodes); err != nil {
		fmt.Fprintln(os.Stderr, "cluster-map:", err)
		os.Exit(1)
	}
}
