// Command easyserver is the easy side of bench/outside: package cardapp,
// the card's program.
package main

import "github.com/fastapi-easy/easy-go/bench/outside/cardapp"

func main() { cardapp.Main() }
