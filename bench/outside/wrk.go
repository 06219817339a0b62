package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// route is one HTTP measurement: a path for wrk, with a Lua script when
// the requests change from one to the next.
type route struct {
	name   string
	path   string
	script string // the name of a script in scripts; "" for none
	args   func(cfg config) []string
	writes bool // adds rows: runs on servers of its own (see measureHTTP)
}

var routes = []route{
	{"GET /items/{id}", "/items/1", "get.lua", func(cfg config) []string { return []string{strconv.Itoa(cfg.rows)} }, false},
	{"GET /items?limit=50", "/items?limit=50", "", nil, false},
	{"POST /items", "/items", "post.lua", nil, true},
}

// scripts are wrk's Lua scripts. Each of wrk's threads has a Lua state of
// its own, so each starts at a random place.
var scripts = map[string]string{
	// get.lua ROWS reads the rows 1 to ROWS in turn.
	"get.lua": `local rows, id
function init(args)
  rows = tonumber(args[1])
  id = math.random(rows)
end
function request()
  id = id % rows + 1
  return wrk.format("GET", "/items/" .. id)
end
`,
	// post.lua creates an item with a new name and price each time.
	"post.lua": `local n
function init(args)
  n = math.random(1000000) * 1000
end
function request()
  n = n + 1
  return wrk.format("POST", "/items", {["Content-Type"] = "application/json"},
    '{"name":"wrk ' .. n .. '","price":' .. (n % 1000) / 4 .. '}')
end
`,
}

// writeScripts writes the scripts into dir.
func writeScripts(dir string) error {
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// wrkResult is what wrk reported for one run.
type wrkResult struct {
	requests     int
	rps          float64
	p50, p99     time.Duration
	non2xx       int
	socketErrors int
}

// runWrk drives addr with wrk for cfg.httpDur and parses its report.
func runWrk(ctx context.Context, cfg config, addr string, r route) (wrkResult, error) {
	args := []string{"-t", strconv.Itoa(cfg.threads), "-c", strconv.Itoa(cfg.conns),
		"-d", fmt.Sprintf("%.0fs", cfg.httpDur.Seconds()), "--latency", "--timeout", "10s"}
	if r.script != "" {
		args = append(args, "-s", filepath.Join(cfg.dir, r.script))
	}
	args = append(args, "http://"+addr+r.path)
	if r.args != nil {
		args = append(append(args, "--"), r.args(cfg)...)
	}
	out, err := exec.CommandContext(ctx, cfg.wrk, args...).CombinedOutput()
	if err != nil {
		return wrkResult{}, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	res, err := parseWrk(string(out))
	if err != nil {
		return res, fmt.Errorf("wrk %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return res, nil
}

// parseWrk reads wrk's report, as printed with --latency:
//
//	  Latency Distribution
//	     50%  310.00us
//	     99%  108.07ms
//	  5662 requests in 1.13s, 757.51KB read
//	  Socket errors: connect 0, read 0, write 0, timeout 2
//	  Non-2xx or 3xx responses: 3
//	Requests/sec:   4998.67
func parseWrk(out string) (wrkResult, error) {
	var res wrkResult
	var haveRPS, haveP50, haveP99, haveCount bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		var err error
		switch {
		case len(f) == 2 && f[0] == "Requests/sec:":
			res.rps, err = strconv.ParseFloat(f[1], 64)
			haveRPS = true
		case len(f) == 2 && f[0] == "50%":
			res.p50, err = parseWrkDuration(f[1])
			haveP50 = true
		case len(f) == 2 && f[0] == "99%":
			res.p99, err = parseWrkDuration(f[1])
			haveP99 = true
		case len(f) >= 3 && f[1] == "requests" && f[2] == "in":
			res.requests, err = strconv.Atoi(f[0])
			haveCount = true
		case len(f) == 5 && f[0] == "Non-2xx":
			res.non2xx, err = strconv.Atoi(f[4])
		case len(f) == 10 && f[0] == "Socket" && f[1] == "errors:":
			for _, i := range []int{3, 5, 7, 9} {
				n, e := strconv.Atoi(strings.TrimSuffix(f[i], ","))
				if e != nil {
					err = e
				}
				res.socketErrors += n
			}
		}
		if err != nil {
			return res, fmt.Errorf("wrk's report: %q: %w", sc.Text(), err)
		}
	}
	if !haveRPS || !haveP50 || !haveP99 || !haveCount {
		return res, fmt.Errorf("wrk's report lacks Requests/sec, the request count or the 50%% and 99%% latencies")
	}
	return res, nil
}

// parseWrkDuration reads wrk's durations: 310.00us, 8.76ms, 1.02s, 2.00m.
func parseWrkDuration(s string) (time.Duration, error) {
	if v, ok := strings.CutSuffix(s, "m"); ok {
		f, err := strconv.ParseFloat(v, 64)
		return time.Duration(f * float64(time.Minute)), err
	}
	return time.ParseDuration(strings.Replace(s, "us", "µs", 1))
}
