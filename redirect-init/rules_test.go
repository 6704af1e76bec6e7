package main

import (
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestParseRedirect(t *testing.T) {
	r, err := ParseRedirect("8080:7450")
	if err != nil || r != (Redirect{AppPort: 8080, ListenPort: 7450}) {
		t.Fatalf("8080:7450 = %v, %v", r, err)
	}
	for in, want := range map[string]string{
		"8080":       "want <app port>:<listen port>",
		"0:7450":     "app port",
		"8080:65536": "listen port",
		"x:7450":     "is not a port",
		"8080:8080":  "must differ",
		"8080:-1":    "is not a port",
	} {
		if _, err := ParseRedirect(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error containing %q", in, err, want)
		}
	}
}

func TestCheckRedirects(t *testing.T) {
	if err := CheckRedirects(nil); err == nil {
		t.Error("no redirect must be refused")
	}
	twice := []Redirect{{8080, 7450}, {8080, 7452}}
	if err := CheckRedirects(twice); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("app port twice: %v", err)
	}
	chained := []Redirect{{8080, 7450}, {7450, 7452}}
	if err := CheckRedirects(chained); err == nil || !strings.Contains(err.Error(), "itself redirected") {
		t.Errorf("chained: %v", err)
	}
	if err := CheckRedirects([]Redirect{{8080, 7450}, {9090, 7452}}); err != nil {
		t.Errorf("two distinct redirects: %v", err)
	}
}

func TestRuleExprs(t *testing.T) {
	got := RuleExprs(Redirect{AppPort: 8080, ListenPort: 7450})
	lo := make([]byte, 16)
	copy(lo, "lo")
	want := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: lo},
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{6}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{0x1f, 0x90}},
		&expr.Immediate{Register: 1, Data: []byte{0x1d, 0x1a}},
		&expr.Redir{RegisterProtoMin: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("expressions:\n got %#v\nwant %#v", got, want)
	}
	if d := Describe(Redirect{8080, 7450}); d != `iifname != "lo" meta l4proto tcp tcp dport 8080 redirect to :7450` {
		t.Errorf("describe: %s", d)
	}
}

// The kernel's view: in a fresh network namespace, two runs leave one table with one chain and the
// rules of the last run, which read back as programmed.
func TestProgramInANetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_SYS_ADMIN for a network namespace, CAP_NET_ADMIN for nftables): run as root")
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine and its namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- err
			return
		}
		fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		conn, err := nftables.New(nftables.WithNetNSFd(fd))
		if err != nil {
			done <- err
			return
		}
		done <- inNamespace(t, conn)
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func inNamespace(t *testing.T, conn *nftables.Conn) error {
	if err := Program(conn, []Redirect{{8080, 7450}}); err != nil {
		return err
	}
	second := []Redirect{{8080, 7450}, {9090, 7452}}
	if err := Program(conn, second); err != nil {
		return err
	}
	tables, err := conn.ListTables()
	if err != nil {
		return err
	}
	if len(tables) != 1 || tables[0].Name != TableName || tables[0].Family != nftables.TableFamilyINet {
		t.Errorf("tables after two runs: %+v", tables)
	}
	chains, err := conn.ListChains()
	if err != nil {
		return err
	}
	if len(chains) != 1 || chains[0].Name != ChainName || *chains[0].Hooknum != *nftables.ChainHookPrerouting {
		t.Errorf("chains after two runs: %+v", chains)
	}
	n, err := Installed(conn)
	if err != nil {
		return err
	}
	if n != len(second) {
		t.Errorf("%d rules installed, want %d", n, len(second))
	}
	if err := Program(conn, nil); err == nil {
		t.Error("nothing to program must be refused")
	}
	rules, err := conn.GetRules(Table(), Chain(Table()))
	if err != nil {
		return err
	}
	for i, rule := range rules {
		var redir *expr.Redir
		var target []byte
		for _, e := range rule.Exprs {
			switch v := e.(type) {
			case *expr.Redir:
				redir = v
			case *expr.Immediate:
				target = v.Data
			}
		}
		if redir == nil || !reflect.DeepEqual(target, RuleExprs(second[i])[6].(*expr.Immediate).Data) {
			t.Errorf("rule %d reads back as %#v", i, rule.Exprs)
		}
	}
	return nil
}
