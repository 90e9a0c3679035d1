package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// tcpEcho is a loopback TCP server that echoes every line: a node's
// RTMP or HTTP port.
func tcpEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// echoes reports whether a line sent on c comes back.
func echoes(c net.Conn, line string) bool {
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		return false
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && got == line+"\n"
}

// testCluster is a cluster of nodes that are echo servers on their HTTP,
// RTMP and SRT addresses, with the soak's fault paths before them.
func testCluster(t *testing.T) *cluster {
	t.Helper()
	ws := &harness.Workspace{}
	t.Cleanup(ws.Cleanup.Run)
	c := &cluster{r: &rig{ws: ws}, down: map[*node]bool{}, paths: map[string]*nodePaths{}}
	for _, id := range []string{"n1", "n2"} {
		n := &node{id: id, addr: tcpEcho(t), rtmp: tcpEcho(t), srt: listenEnd(t, true).conn.LocalAddr().String()}
		c.nodes = append(c.nodes, n)
		if err := c.startPaths(n); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// A publish URL of a node goes through the proxy (RTMP) or the relay
// (SRT) before that node and reaches it; the edge's origins are the
// proxies before every node.
func TestUnitClusterPaths(t *testing.T) {
	c := testCluster(t)
	n2, p2 := c.nodes[1], c.paths["n2"]
	rtmp := c.through("n2", "rtmp://"+n2.rtmp+"/live/cam-rtmp")
	if rtmp != "rtmp://"+p2.rtmp.addr()+"/live/cam-rtmp" {
		t.Errorf("RTMP URL through the proxy: %s", rtmp)
	}
	srt := c.through("n2", "srt://"+n2.srt+"?streamid=publish:cam-srt")
	if srt != "srt://"+p2.srt.addr()+"?streamid=publish:cam-srt" {
		t.Errorf("SRT URL through the relay: %s", srt)
	}
	if u := c.through("n1", rtmp); u != rtmp {
		t.Errorf("another node's URL rewritten: %s", u)
	}
	want := []string{"http://" + c.paths["n1"].edge.addr(), "http://" + p2.edge.addr()}
	if got := c.origins(); !slices.Equal(got, want) {
		t.Errorf("origins %q, want %q", got, want)
	}

	conn, err := net.Dial("tcp", strings.TrimSuffix(strings.TrimPrefix(rtmp, "rtmp://"), "/live/cam-rtmp"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !echoes(conn, "rtmp") {
		t.Error("nothing came back through the RTMP proxy")
	}
	u, err := net.Dial("udp", p2.srt.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	b := binary.BigEndian.AppendUint32(nil, 7)
	poll.Until(t, "a datagram to come back through the SRT relay", 10*time.Second, func() (bool, string) {
		_, _ = u.Write(b)
		_ = u.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		got := make([]byte, 16)
		n, err := u.Read(got)
		return err == nil && n == 4 && binary.BigEndian.Uint32(got) == 7, "no answer"
	})
}

// net-edge cuts the edge's connections to every node and refuses new
// ones while it lasts, then lets them through again.
func TestUnitClusterNetEdge(t *testing.T) {
	c := testCluster(t)
	var conns []net.Conn
	for _, n := range c.nodes {
		conn, err := net.Dial("tcp", c.paths[n.id].edge.addr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if !echoes(conn, "before") {
			t.Fatalf("nothing came back from node %s before the fault", n.id)
		}
		conns = append(conns, conn)
	}
	done := make(chan string)
	go func() {
		note, err, ok := c.netFault(context.Background(), faultNetEdge)
		if err != nil || !ok {
			t.Errorf("net-edge: %v, %v", err, ok)
		}
		done <- note
	}()
	for i, conn := range conns {
		poll.Until(t, "the edge's connection to node "+c.nodes[i].id+" to be cut", 10*time.Second, func() (bool, string) {
			return !echoes(conn, "during"), "still answers"
		})
	}
	refused := false
	for range 3 {
		conn, err := net.Dial("tcp", c.paths["n1"].edge.addr())
		if err != nil {
			refused = true
			break
		}
		refused = !echoes(conn, "during")
		_ = conn.Close()
		if refused {
			break
		}
	}
	if !refused {
		t.Error("a new connection through the edge proxy was relayed during the cut")
	}
	note := <-done
	if !strings.Contains(note, "2 origins cut") {
		t.Errorf("note %q", note)
	}
	// The proxies listen again as the cut ends, which races the fault's
	// own end by a moment.
	for _, n := range c.nodes {
		poll.Until(t, "node "+n.id+" to answer through the edge proxy after the fault", 30*time.Second, func() (bool, string) {
			conn, err := net.Dial("tcp", c.paths[n.id].edge.addr())
			if err != nil {
				return false, err.Error()
			}
			defer conn.Close()
			return echoes(conn, "after"), "nothing came back"
		})
	}
	if _, _, ok := c.netFault(context.Background(), faultNodeKill); ok {
		t.Error("node-kill taken for a network fault")
	}
}
