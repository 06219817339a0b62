package loadkit

import (
	"bytes"
	"io"
	"strconv"
)

const seqField = `,"seq":`

// ParseEvent reads the seq of an event that begins with start and the
// number that follows name in it (the tools name each item after its
// write), without a JSON decoder: the server's message format is fixed,
// and a decoder would load the machine that the servers are measured on.
func ParseEvent(msg, start, name []byte) (seq, n uint64, ok bool) {
	if !bytes.HasPrefix(msg, start) {
		return 0, 0, false
	}
	i := bytes.LastIndex(msg, []byte(seqField))
	j := bytes.Index(msg, name)
	if i < 0 || j < 0 {
		return 0, 0, false
	}
	seq, ok1 := leadingUint(msg[i+len(seqField):])
	n, ok2 := leadingUint(msg[j+len(name):])
	return seq, n, ok1 && ok2
}

func leadingUint(b []byte) (uint64, bool) {
	n := 0
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		n++
	}
	v, err := strconv.ParseUint(string(b[:n]), 10, 64)
	return v, err == nil
}

// ReadAll appends what r holds to buf, reusing buf's room.
func ReadAll(r io.Reader, buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
