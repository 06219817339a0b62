package easy_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/fastapi-easy/easy-go/easy"
)

// pipeline is a stream of requests on one connection, made at random,
// with what the App must answer to each.
type pipeline struct {
	stream  []byte
	refuse  []string // per request: the refusal's detail, or ""
	methods []string
}

// choices draws the random decisions of a pipeline: from a seeded
// generator, or from a fuzzer's bytes.
type choices interface{ IntN(n int) int }

type fuzzChoices struct{ b []byte }

func (c *fuzzChoices) IntN(n int) int {
	if len(c.b) == 0 {
		return 0
	}
	v := int(c.b[0])
	c.b = c.b[1:]
	return v % n
}

func pick[T any](c choices, xs ...T) T { return xs[c.IntN(len(xs))] }

// randomPipeline writes n requests as clients, proxies and attackers
// write them: fixed and chunked bodies (chunk extensions, trailers, upper
// and lower case hex), header names in any case, values folded over two
// lines, bare LF line ends, the blank lines old clients send after a
// POST, bodies that hold what looks like another request, and now and
// then a Content-Length beside Transfer-Encoding or a framing net/http
// refuses.
func randomPipeline(c choices, n int) pipeline {
	var p pipeline
	var b bytes.Buffer
	for range n {
		method := pick(c, "GET", "POST", "POST", "PUT", "HEAD", "OPTIONS")
		uri := pick(c, "/", "/items?x=1", "/"+strings.Repeat("a", 200), "*")
		proto := pick(c, "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0")
		eol := func() string { return pick(c, "\r\n", "\r\n", "\r\n", "\n") }
		fmt.Fprintf(&b, "%s %s %s%s", method, uri, proto, eol())
		fmt.Fprintf(&b, "Host: example.com%s", eol())
		for range c.IntN(3) {
			b.WriteString(pick(c,
				"X-A: b"+eol(),
				"Cookie: "+strings.Repeat("c", 100+c.IntN(5000))+eol(),
				"X-Folded: a"+eol()+" b"+eol(),
				"X-Content-Length: 5"+eol(),
				"X-Transfer-Encoding: chunked"+eol(),
			))
		}
		body := pick(c, "", "hello", `{"name":"a"}`+"\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n", strings.Repeat("z", 3000))
		refuse := ""
		switch pick(c, "none", "length", "length", "chunked", "chunked", "both", "http10te", "broken") {
		case "length":
			fmt.Fprintf(&b, "%s: %d%s", pick(c, "Content-Length", "content-length", "CONTENT-LENGTH"), len(body), eol())
			b.WriteString(eol())
			b.WriteString(body)
		case "chunked", "both":
			te := pick(c, "Transfer-Encoding: chunked", "transfer-encoding: Chunked", "TRANSFER-ENCODING:   chunked  ")
			if pick(c, false, true) {
				te = "Transfer-Encoding:" + eol() + " chunked" // obs-fold, which textproto joins
			}
			b.WriteString(te + eol())
			if proto == "HTTP/1.0" {
				refuse = "Transfer-Encoding is not allowed in HTTP/1.0"
			} else if pick(c, false, true) {
				fmt.Fprintf(&b, "%s: %d%s", pick(c, "Content-Length", "content-length"), len(body), eol())
				refuse = "Request has both Content-Length and Transfer-Encoding"
			}
			b.WriteString(eol())
			rest := body
			for len(rest) > 0 {
				k := min(len(rest), 1+c.IntN(700))
				fmt.Fprintf(&b, pick(c, "%x", "%X", "%04x")+pick(c, "", ";ext=1", ";a=\"b\"", "  ")+"\r\n", k)
				b.WriteString(rest[:k] + "\r\n")
				rest = rest[k:]
			}
			b.WriteString("0\r\n")
			b.WriteString(pick(c, "", "X-Trailer: t\r\n", "A: 1\r\nB: 2\r\n"))
			b.WriteString("\r\n")
		case "http10te":
			if proto == "HTTP/1.0" {
				refuse = "Transfer-Encoding is not allowed in HTTP/1.0"
			} else {
				refuse = "Request has both Content-Length and Transfer-Encoding"
			}
			fmt.Fprintf(&b, "Transfer-Encoding: chunked%sContent-Length: %d%s%s", eol(), len(body), eol(), eol())
			b.WriteString(body)
		case "broken": // net/http refuses these and closes: nothing after matters
			h := pick(c, "Content-Length: abc\r\n", "Transfer-Encoding: gzip\r\n", "Content-Length: 1\r\nContent-Length: 2\r\n")
			if proto == "HTTP/1.0" && strings.HasPrefix(h, "Transfer-Encoding") {
				refuse = "Transfer-Encoding is not allowed in HTTP/1.0" // which net/http ignores
			}
			b.WriteString(h + "\r\n")
		default:
			b.WriteString(eol())
		}
		if method == "POST" {
			b.WriteString(pick(c, "", "", "\r\n", "\r\n\r\n"))
		}
		p.refuse = append(p.refuse, refuse)
		p.methods = append(p.methods, method)
	}
	p.stream = b.Bytes()
	return p
}

// netHTTPReads returns how many requests of stream net/http's server
// reads, bodies included, before it refuses one: http.ReadRequest, with
// the server's skipping of blank lines after a POST.
func netHTTPReads(stream []byte) int {
	br := bufio.NewReader(bytes.NewReader(stream))
	afterPOST := false
	for n := 0; ; n++ {
		if afterPOST {
			peek, _ := br.Peek(4)
			k := 0
			for k < len(peek) && (peek[k] == '\r' || peek[k] == '\n') {
				k++
			}
			br.Discard(k)
		}
		req, err := http.ReadRequest(br)
		if err != nil || req.ProtoMajor != 1 {
			return n
		}
		if _, err := io.Copy(io.Discard, req.Body); err != nil {
			return n
		}
		afterPOST = req.Method == "POST"
	}
}

// checkPipeline checks the framer against net/http on one pipeline:
// every request net/http reads before the first that must be refused is
// found sound, and that one is refused with its detail.
func checkPipeline(t *testing.T, p pipeline, pieces ...int) {
	t.Helper()
	read := netHTTPReads(p.stream)
	sound, refusal := easy.Frame(p.stream, pieces...)
	bad := len(p.refuse)
	for i, r := range p.refuse {
		if r != "" {
			bad = i
			break
		}
	}
	switch {
	case bad < read || bad < len(p.refuse) && bad == read:
		if sound != bad || refusal != p.refuse[bad] {
			t.Fatalf("request %d of %s must be refused with %q after %d sound ones; framer: %d sound, then %q",
				bad, clip(p.stream), p.refuse[bad], bad, sound, refusal)
		}
	case sound < read:
		t.Fatalf("net/http reads %d requests of %s; the framer found %d sound, then %q", read, clip(p.stream), sound, refusal)
	}
}

// clip quotes a stream for a message, its long runs of one byte shortened.
func clip(b []byte) string {
	var out []byte
	for i := 0; i < len(b); {
		j := i
		for j < len(b) && b[j] == b[i] {
			j++
		}
		if j-i > 8 {
			out = fmt.Appendf(out, "%c<×%d>", b[i], j-i)
		} else {
			out = append(out, b[i:j]...)
		}
		i = j
	}
	return fmt.Sprintf("%q", out)
}

func TestFramerAgreesWithNetHTTP(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		p := randomPipeline(r, 1+r.IntN(6))
		// Fed whole, a byte at a time, and in pieces of odd sizes.
		checkPipeline(t, p)
		if i%10 == 0 {
			checkPipeline(t, p, 1)
		}
		checkPipeline(t, p, 1+r.IntN(50), 1+r.IntN(4096))
	}
}

func FuzzFramerAgreesWithNetHTTP(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	f.Add(bytes.Repeat([]byte{1, 5, 7, 200}, 30))
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &fuzzChoices{b}
		p := randomPipeline(c, 1+c.IntN(5))
		checkPipeline(t, p, 1+c.IntN(64), 1+c.IntN(4096))
	})
}

// FuzzFramerOnAnyBytes feeds the framer what a client may send: it may
// refuse a request net/http reads whole only for a length declared twice
// or Transfer-Encoding in HTTP/1.0, never for losing track.
func FuzzFramerOnAnyBytes(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		f.Add(randomPipeline(r, 3).stream, uint8(7))
	}
	f.Add([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nA: b\r\n\r\n\r\n\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, piece uint8) {
		read := netHTTPReads(stream)
		sound, refusal := easy.Frame(stream, int(piece))
		if sound < read && refusal != "Request has both Content-Length and Transfer-Encoding" && refusal != "Transfer-Encoding is not allowed in HTTP/1.0" {
			t.Fatalf("net/http reads %d requests of %s; the framer found %d sound, then %q", read, clip(stream), sound, refusal)
		}
	})
}
