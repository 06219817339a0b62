// Package loadkit holds what the load tools under bench share, so that
// each rule is written once: reading a server process's memory and write
// calls from /proc and its processor time from its CPU clock, stopping
// it, serving until a context ends, raising the open-file limit, the
// machine's load, the POSTing client, dialing a fleet of subscribers,
// parsing the create events they receive, and the medians and percentiles
// of the reports. Where two tools differ on purpose (how many idle
// connections the writes keep, how an event's write number is bounded),
// the difference is a parameter.
//
// Only bench/... imports it; the library never does.
package loadkit
