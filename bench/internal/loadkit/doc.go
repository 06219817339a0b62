// Package loadkit holds what the load tools under bench share: reading a
// server process's memory, processor time and write calls from /proc,
// stopping it, raising the open-file limit, the POSTing client, dialing a
// fleet of subscribers, parsing the create events they receive, and the
// median of a report. Only bench/... imports it; the library never does.
package loadkit
