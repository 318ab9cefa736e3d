package edge

import (
	"bufio"
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/edgecdn/edge/cache"
)

// A stored header fasthttp will not parse has no template; such an entry
// is served field by field, and still with a Date: the server's.
func TestEntryWithoutTemplateStillDated(t *testing.T) {
	e := &Edge{}
	e.seed.Store(new(fasthttp.ResponseHeader))
	pairs := [][2][]byte{{[]byte("X-Bad"), []byte("a\x01b")}}
	if e.headerTemplate(pairs, time.Now()) != nil {
		t.Fatal("a template from a field with a control byte")
	}
	entry := &cache.Entry{Status: 200, Body: []byte("x"), FreshFor: time.Hour, StoredAt: time.Now(),
		Meta: &entryMeta{pairs: [][2][]byte{{[]byte("X-Good"), []byte("1")}}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{NoDefaultDate: true, Handler: func(ctx *fasthttp.RequestCtx) { e.serveEntry(ctx, entry, time.Now(), statusHit) }}
	go srv.Serve(ln)
	defer srv.Shutdown()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
	var resp fasthttp.Response
	if err := resp.Read(bufio.NewReader(c)); err != nil {
		t.Fatal(err)
	}
	if len(resp.Header.Peek("Date")) == 0 || string(resp.Header.Peek("X-Good")) != "1" || !bytes.Equal(resp.Body(), []byte("x")) {
		t.Fatalf("served without a template: %q", strings.ReplaceAll(resp.Header.String(), "\r\n", " | "))
	}
}
