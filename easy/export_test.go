package easy

// Frame feeds stream to a connection's framer in pieces of the given
// sizes (the last repeated), as net/http's reads would, and returns how
// many requests it found sound and why it refuses the one after them
// ("" when it refuses none).
func Frame(stream []byte, pieces ...int) (sound int, refusal string) {
	f := newFramer()
	for i := 0; len(stream) > 0; i++ {
		n := len(stream)
		if len(pieces) > 0 {
			n = min(n, max(1, pieces[min(i, len(pieces)-1)]))
		}
		f.feed(stream[:n])
		stream = stream[n:]
	}
	return f.ready, f.refusal
}
