// Command redirect-init programs the pod's network namespace so that every inbound TCP connection
// to the application port lands on the tokengate sidecar, then exits. It runs as an init
// container of pods whose ApiPolicy has `interception: Redirect`, with NET_ADMIN only.
//
//	redirect-init --redirect <app port>:<listen port> [--redirect ...]
//
// Exit status: 0 once the rules are in place (and read back), 1 when the kernel refused them,
// 2 for a bad command line.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
)

type redirectFlags []Redirect

func (f *redirectFlags) String() string {
	parts := make([]string, len(*f))
	for i, r := range *f {
		parts[i] = r.String()
	}
	return strings.Join(parts, ",")
}

func (f *redirectFlags) Set(s string) error {
	r, err := ParseRedirect(s)
	if err != nil {
		return err
	}
	*f = append(*f, r)
	return nil
}

func main() {
	var redirects redirectFlags
	fs := flag.NewFlagSet("redirect-init", flag.ContinueOnError)
	fs.Var(&redirects, "redirect", "`APP:LISTEN`: inbound TCP to port APP goes to port LISTEN (repeatable)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fail(2, "unexpected argument %q", fs.Arg(0))
	}
	if err := CheckRedirects(redirects); err != nil {
		fail(2, "%v", err)
	}
	conn, err := nftables.New()
	if err != nil {
		fail(1, "cannot open a netfilter socket: %v", err)
	}
	if err := Program(conn, redirects); err != nil {
		fail(1, "the kernel refused the rules (the container needs the NET_ADMIN capability and a kernel with nftables NAT): %v", err)
	}
	found, err := Installed(conn)
	if err != nil {
		fail(1, "the rules were programmed but cannot be read back: %v", err)
	}
	if found != len(redirects) {
		fail(1, "programmed %d rule(s) but table inet %s holds %d", len(redirects), TableName, found)
	}
	fmt.Printf("table inet %s chain %s (type nat hook prerouting priority dstnat):\n", TableName, ChainName)
	for _, r := range redirects {
		fmt.Printf("  %s\n", Describe(r))
	}
}

// Installed counts the rules of the program's chain as the kernel now holds them.
func Installed(conn *nftables.Conn) (int, error) {
	table := Table()
	rules, err := conn.GetRules(table, Chain(table))
	if err != nil {
		return 0, err
	}
	return len(rules), nil
}

func fail(code int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "redirect-init: "+format+"\n", args...)
	os.Exit(code)
}
