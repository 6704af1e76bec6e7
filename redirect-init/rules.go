package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table the program owns in the pod's network namespace. Everything
// it programs lives there, so a second run replaces the first (idempotent) and nothing else in
// the namespace is touched.
const TableName = "tokengate"

// ChainName is the table's only chain: the nat prerouting hook, which sees the first packet of
// every connection arriving from outside the pod. Connections the pod opens itself (the sidecar to
// 127.0.0.1:<app>) take the output hook and are never seen here, so they are not redirected: no
// loop.
const ChainName = "prerouting"

// Redirect sends inbound TCP connections for AppPort to ListenPort (the sidecar).
type Redirect struct {
	AppPort    uint16
	ListenPort uint16
}

func (r Redirect) String() string {
	return fmt.Sprintf("%d:%d", r.AppPort, r.ListenPort)
}

// ParseRedirect reads "<app port>:<listen port>".
func ParseRedirect(s string) (Redirect, error) {
	app, listen, ok := strings.Cut(s, ":")
	if !ok {
		return Redirect{}, fmt.Errorf("--redirect %q: want <app port>:<listen port>, e.g. 8080:7450", s)
	}
	a, err := port(app)
	if err != nil {
		return Redirect{}, fmt.Errorf("--redirect %q: app port: %v", s, err)
	}
	l, err := port(listen)
	if err != nil {
		return Redirect{}, fmt.Errorf("--redirect %q: listen port: %v", s, err)
	}
	if a == l {
		return Redirect{}, fmt.Errorf("--redirect %q: the app port and the listen port must differ", s)
	}
	return Redirect{AppPort: a, ListenPort: l}, nil
}

func port(s string) (uint16, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 65535 {
		return 0, fmt.Errorf("%q is not a port between 1 and 65535", s)
	}
	return uint16(n), nil
}

// CheckRedirects refuses a set that cannot be programmed with one meaning: an app port redirected
// twice, or a listen port that is itself redirected (a connection would be sent on again).
func CheckRedirects(redirects []Redirect) error {
	if len(redirects) == 0 {
		return fmt.Errorf("no --redirect given: nothing to program")
	}
	apps := map[uint16]bool{}
	for _, r := range redirects {
		if apps[r.AppPort] {
			return fmt.Errorf("--redirect: app port %d is given twice", r.AppPort)
		}
		apps[r.AppPort] = true
	}
	for _, r := range redirects {
		if apps[r.ListenPort] {
			return fmt.Errorf("--redirect: listen port %d is itself redirected", r.ListenPort)
		}
	}
	return nil
}

// Table is the table the program owns; inet, so IPv4 and IPv6 connections are both redirected.
func Table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}
}

// Chain is the nat prerouting chain at the destination-NAT priority.
func Chain(table *nftables.Table) *nftables.Chain {
	return &nftables.Chain{
		Name:     ChainName,
		Table:    table,
		Type:     nftables.ChainTypeNAT,
		Hooknum:  nftables.ChainHookPrerouting,
		Priority: nftables.ChainPriorityNATDest,
	}
}

// RuleExprs is one redirect as nftables expressions, the equivalent of
//
//	iifname != "lo" meta l4proto tcp tcp dport <app> redirect to :<listen>
//
// Loopback is excluded explicitly as well: the sidecar reaches the application over it.
func RuleExprs(r Redirect) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname("lo")},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(r.AppPort)},
		&expr.Immediate{Register: 1, Data: binaryutil.BigEndian.PutUint16(r.ListenPort)},
		&expr.Redir{RegisterProtoMin: 1},
	}
}

// Describe is what a rule does, in nft's syntax, for the program's output.
func Describe(r Redirect) string {
	return fmt.Sprintf(`iifname != "lo" meta l4proto tcp tcp dport %d redirect to :%d`, r.AppPort, r.ListenPort)
}

// ifname is an interface name as the kernel compares it: NUL-padded to IFNAMSIZ.
func ifname(name string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return b
}

// Program replaces the program's table with one holding the redirects, in one atomic
// transaction: the table is added (a no-op when it exists), deleted and added again, so a second
// run leaves exactly what the first did and a failed run leaves what was there before.
func Program(c *nftables.Conn, redirects []Redirect) error {
	if err := CheckRedirects(redirects); err != nil {
		return err
	}
	table := Table()
	c.AddTable(table)
	c.DelTable(table)
	c.AddTable(table)
	chain := c.AddChain(Chain(table))
	for _, r := range redirects {
		c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: RuleExprs(r)})
	}
	return c.Flush()
}
