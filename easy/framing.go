package easy

import (
	"bytes"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/fastapi-easy/easy-go/easy/problem"
)

// A request that declares its length twice, with Content-Length and
// Transfer-Encoding: chunked, is read one way by net/http (chunked) and
// may be read the other way by a proxy in front, which then carries a
// second request hidden in the body: request smuggling. RFC 9112 §6.1
// asks a server to take such a request as an error and close the
// connection. net/http deletes the Content-Length before a handler runs
// (fixLength in net/http/transfer.go), so the App cannot see it in the
// request. Instead, each connection Serve accepts follows the requests as
// net/http reads them (a framer) and notes, for each, whether its header
// block was sound.

// The answers to a request whose framing is refused.
const (
	detailLengthTwice = "Request has both Content-Length and Transfer-Encoding"
	detailHTTP10TE    = "Transfer-Encoding is not allowed in HTTP/1.0"
	detailBadFraming  = "Invalid request framing"
)

const (
	// maxHeaderBlock is past the most net/http reads of a header block
	// (its MaxHeaderBytes, 4 KiB of slack, and what its reader holds
	// ahead): a longer one it refuses, so the framer need not follow.
	maxHeaderBlock = http.DefaultMaxHeaderBytes + 16<<10
	// linePrefix is how much of a line the framer keeps when it does
	// not need all of it: enough for a header's name and a chunk size.
	linePrefix = 64
)

type frameState uint8

const (
	frameHeader    frameState = iota // the request line and the header lines
	frameBody                        // the bytes of a body of known length
	frameChunkSize                   // a chunk-size line
	frameChunkData                   // the bytes of a chunk and the CRLF after it
	frameTrailer                     // the trailer lines after the last chunk
	frameOff                         // nothing more to follow
)

// headerKind is what the framer makes of a header field.
type headerKind uint8

const (
	otherHeader headerKind = iota
	lengthHeader
	encodingHeader
)

// framer follows the HTTP/1 requests on one connection, fed the bytes as
// net/http reads them, with net/http's rules (net/textproto for header
// lines, net/http/internal/chunked.go for chunks): where a header block
// ends, which framing its body has, where the body ends. Where net/http
// would refuse a request and close the connection, the framer may accept
// it: what follows is never read. Where it cannot follow (a framing it
// does not know), it stops, and the requests after are refused.
type framer struct {
	state frameState
	left  uint64 // bytes left of a body or of a chunk with its CRLF

	line    []byte // the line being read: all of it, or its first linePrefix bytes
	lineLen int    // its length so far
	keep    bool   // all of the line is kept

	// The header block being read.
	block     int  // its bytes so far
	first     bool // the next line is the request line
	afterPOST int  // CR and LF bytes net/http skips before the next request line
	proto     int  // 10 for HTTP/1.0, 11 for later versions; 0 unknown
	post      bool // the method is POST
	field     headerKind
	value     []byte   // the value of the field being read, when it matters
	lengths   []string // its Content-Length values
	encoding  []string // its Transfer-Encoding values

	ready   int    // requests read and sound, not yet taken by a handler
	refusal string // why the request after those is refused; "" when none is
}

func newFramer() framer { return framer{first: true} }

// next returns why the next request on the connection must be refused,
// or "" when it is sound. A handler calls it once for every request, as
// net/http calls the handler once for every request it reads.
func (f *framer) next() string {
	if f.ready > 0 {
		f.ready--
		return ""
	}
	if f.refusal != "" {
		return f.refusal
	}
	// net/http read a request the framer did not see end: they disagree.
	return detailBadFraming
}

// stop ends the framing with a refusal for the request after those read.
func (f *framer) stop(detail string) {
	f.state, f.refusal = frameOff, detail
	f.line, f.value, f.lengths, f.encoding = nil, nil, nil, nil
}

// feed follows p, the next bytes read from the connection.
func (f *framer) feed(p []byte) {
	for len(p) > 0 {
		switch f.state {
		case frameOff:
			return
		case frameBody, frameChunkData:
			n := uint64(len(p))
			if n > f.left {
				n = f.left
			}
			p, f.left = p[n:], f.left-n
			if f.left == 0 {
				if f.state == frameBody {
					f.endMessage()
				} else {
					f.state = frameChunkSize
				}
			}
		default:
			if f.state == frameHeader && f.first && f.lineLen == 0 {
				for f.afterPOST > 0 && len(p) > 0 && (p[0] == '\r' || p[0] == '\n') {
					p, f.afterPOST = p[1:], f.afterPOST-1
				}
				if len(p) == 0 {
					return
				}
				f.afterPOST = 0
			}
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				f.appendLine(p)
				p = nil
			} else {
				f.appendLine(p[:i+1])
				p = p[i+1:]
				f.endLine()
			}
			if f.state == frameHeader || f.state == frameTrailer {
				if f.block > maxHeaderBlock {
					f.stop(detailBadFraming) // net/http answers 431 and closes
				}
			}
		}
	}
}

// appendLine adds b to the line being read, keeping only what may matter.
func (f *framer) appendLine(b []byte) {
	f.lineLen += len(b)
	if f.state == frameHeader || f.state == frameTrailer {
		f.block += len(b)
	}
	if f.keep || f.state == frameHeader && f.first { // the request line is kept whole
		f.line = append(f.line, b...)
		return
	}
	if room := linePrefix - len(f.line); room > 0 {
		n := min(room, len(b))
		f.line = append(f.line, b[:n]...)
		b = b[n:]
	}
	if len(b) > 0 && f.state == frameHeader && !f.first && f.wanted() {
		f.keep = true
		f.line = append(f.line, b...)
	}
}

// wanted reports whether the header line being read, of which linePrefix
// bytes are in, must be kept whole: the request line, or a field (or the
// continuation of one) that frames the body.
func (f *framer) wanted() bool {
	if isSpace(f.line[0]) {
		return f.field != otherHeader
	}
	return kindOf(f.line) != otherHeader
}

// endLine takes the line just read to its end.
func (f *framer) endLine() {
	line := f.line
	if f.lineLen > len(line) && !f.keep {
		line = line[:0] // a long line that does not matter
	}
	blank := f.lineLen <= 2 && (string(f.line) == "\n" || string(f.line) == "\r\n")
	f.lineLen, f.keep = 0, false
	defer func() {
		if cap(f.line) > 4<<10 {
			f.line = nil // do not hold on to a long line's buffer
		} else {
			f.line = f.line[:0]
		}
	}()

	switch f.state {
	case frameHeader:
		switch {
		case f.first:
			f.requestLine(f.line)
		case blank:
			f.endField()
			f.endBlock()
		case isSpace(f.line[0]):
			if f.field != otherHeader {
				f.value = append(f.value, ' ')
				f.value = append(f.value, trimSpace(line)...)
			}
		default:
			f.endField()
			f.startField(line)
		}
	case frameChunkSize:
		f.chunkSize(f.line)
	case frameTrailer:
		if blank {
			f.endMessage()
		}
	}
}

// requestLine reads the method and the version from the request line.
func (f *framer) requestLine(line []byte) {
	f.first = false
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	method, _, _ := bytes.Cut(line, []byte(" "))
	f.post = string(method) == http.MethodPost
	// A request line net/http takes ends with " HTTP/d.d" (ParseHTTPVersion).
	f.proto = 0
	if n := len(line); n > 9 && string(line[n-9:n-3]) == " HTTP/" && line[n-2] == '.' && isDigit(line[n-3]) && isDigit(line[n-1]) {
		major, minor := line[n-3]-'0', line[n-1]-'0'
		switch {
		case major == 1 && minor == 0:
			f.proto = 10
		case major == 1 || major == 2: // 2.0: the "PRI *" preface, which net/http hands to the handler
			f.proto = 11
		}
	}
}

// startField starts a header field from its first line.
func (f *framer) startField(line []byte) {
	f.field = kindOf(line)
	if f.field == otherHeader {
		return
	}
	_, v, _ := bytes.Cut(trimSpace(line), []byte(":"))
	f.value = append(f.value[:0], v...)
}

// endField records the field just read, as textproto gives it.
func (f *framer) endField() {
	v := string(bytes.TrimLeft(f.value, " \t"))
	switch f.field {
	case lengthHeader:
		f.lengths = append(f.lengths, v)
	case encodingHeader:
		f.encoding = append(f.encoding, v)
	}
	f.field, f.value = otherHeader, f.value[:0]
}

// endBlock decides, at the end of a header block, whether the request is
// sound and how its body is framed, as net/http's readTransfer does.
func (f *framer) endBlock() {
	lengths, encoding, proto := f.lengths, f.encoding, f.proto
	f.lengths, f.encoding, f.first, f.block = f.lengths[:0], f.encoding[:0], true, 0
	switch {
	case proto == 0:
		f.stop(detailBadFraming) // net/http answers 400 or 505 and closes
		return
	case len(encoding) > 0 && proto == 10:
		// net/http ignores it and reads Content-Length; RFC 9112 §6.1
		// takes the framing as faulty.
		f.stop(detailHTTP10TE)
		return
	case len(encoding) > 0:
		if len(encoding) != 1 || !equalFold(encoding[0], "chunked") {
			f.stop(detailBadFraming) // net/http answers 501 and closes
			return
		}
		if len(lengths) > 0 {
			f.stop(detailLengthTwice)
			return
		}
		f.ready++
		f.state = frameChunkSize
		return
	}
	var n uint64
	if len(lengths) > 0 {
		first := textproto.TrimString(lengths[0])
		for _, v := range lengths[1:] {
			if textproto.TrimString(v) != first {
				f.stop(detailBadFraming) // net/http answers 400 and closes
				return
			}
		}
		var err error
		if n, err = strconv.ParseUint(first, 10, 63); err != nil {
			f.stop(detailBadFraming)
			return
		}
	}
	f.ready++
	if n > 0 {
		f.state, f.left = frameBody, n
	} else {
		f.endMessage()
	}
}

// chunkSize reads a chunk-size line, as net/http's chunked reader does.
func (f *framer) chunkSize(line []byte) {
	line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
	line = bytes.TrimRight(line, " \t")
	line, _, _ = bytes.Cut(line, []byte(";"))
	if len(line) == 0 || len(line) > 16 {
		f.stop(detailBadFraming)
		return
	}
	var n uint64
	for _, c := range line {
		var d byte
		switch {
		case '0' <= c && c <= '9':
			d = c - '0'
		case 'a' <= c && c <= 'f':
			d = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			d = c - 'A' + 10
		default:
			f.stop(detailBadFraming)
			return
		}
		n = n<<4 | uint64(d)
	}
	if n == 0 {
		f.state = frameTrailer
		return
	}
	f.state, f.left = frameChunkData, max(n+2, n) // a size past 2⁶⁴-2: a chunk without end, as for net/http
}

// endMessage readies the framer for the next request's header block.
func (f *framer) endMessage() {
	f.state, f.first, f.block = frameHeader, true, 0
	if f.post {
		f.afterPOST = 4 // net/http's tolerance of old clients (numLeadingCRorLF)
	}
}

// kindOf tells the header field whose line starts with line apart.
func kindOf(line []byte) headerKind {
	name, _, ok := bytes.Cut(line, []byte(":"))
	switch {
	case !ok:
		return otherHeader
	case equalFold(string(name), "Content-Length"):
		return lengthHeader
	case equalFold(string(name), "Transfer-Encoding"):
		return encodingHeader
	}
	return otherHeader
}

// equalFold is strings.EqualFold for ASCII alone, as HTTP compares.
func equalFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// trimSpace trims what textproto trims from a header line.
func trimSpace(b []byte) []byte { return bytes.Trim(b, " \t\r\n") }

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// refuseFraming answers 400 with Connection: close, and reports true,
// when c's framer refused the request; see framer.
func refuseFraming(w http.ResponseWriter, c *servedConn) bool {
	detail := c.nextRequest()
	if detail == "" {
		return false
	}
	w.Header().Set("Connection", "close")
	problem.Text(w, http.StatusBadRequest, detail)
	return true
}
