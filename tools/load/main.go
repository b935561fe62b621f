// Command load replays the seed's locust load mix against a running eusaas server with
// vegeta's attack library, and prints p50/p95/p99 per endpoint and overall; over a long run
// (the soak, e.g. -duration 10m) it also samples the server's resident memory and goroutine
// count from /metrics, so a leak shows as a rising column.
//
// The mix (weights per task, as in the seed's locustfile): health 5, list tenants 3,
// create + get tenant 2, unknown tenant 1, current costs 2. Each of -users simulated users
// runs its own vegeta attacker with one worker, so it never has two requests in flight, and
// a pacer that waits a uniform -think-min..-think-max before each task (the GET that
// follows a create is sent as soon as the POST answered, as in the locust task).
//
//	go run ./tools/load -target http://127.0.0.1:8000 -email root@example.eu -password '...' -duration 1m
//
// It lives in its own module so vegeta's dependencies stay out of the server's go.mod.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Endpoint labels, in report order.
const (
	epHealth  = "GET /health"
	epList    = "GET /api/v1/tenants"
	epCreate  = "POST /api/v1/tenants"
	epGet     = "GET /api/v1/tenants/{id}"
	epUnknown = "GET /api/v1/tenants/{unknown}"
	epCosts   = "GET /api/v1/tenants/{id}/costs/current"
)

var endpoints = []string{epHealth, epList, epCreate, epGet, epUnknown, epCosts}

// expected is the status each endpoint answers when the server is right.
var expected = map[string]uint16{epHealth: 200, epList: 200, epCreate: 201, epGet: 200, epUnknown: 404, epCosts: 200}

// task is one weighted task of the mix; create+get expands to two requests.
type task struct {
	name   string
	weight int
}

var mix = []task{{"health", 5}, {"list", 3}, {"create", 2}, {"unknown", 1}, {"costs", 2}}

type config struct {
	target      string
	email, pass string
	users       int
	duration    time.Duration
	thinkMin    time.Duration
	thinkMax    time.Duration
	sample      time.Duration
	costTenants int
	timeout     time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.target, "target", "http://127.0.0.1:8000", "base URL of the server")
	flag.StringVar(&c.email, "email", os.Getenv("APP_BOOTSTRAP_ADMIN_EMAIL"), "platform operator email (default $APP_BOOTSTRAP_ADMIN_EMAIL)")
	flag.StringVar(&c.pass, "password", os.Getenv("APP_BOOTSTRAP_ADMIN_PASSWORD"), "platform operator password (default $APP_BOOTSTRAP_ADMIN_PASSWORD)")
	flag.IntVar(&c.users, "users", 100, "simulated users")
	flag.DurationVar(&c.duration, "duration", time.Minute, "length of the run (a soak: 10m)")
	flag.DurationVar(&c.thinkMin, "think-min", 500*time.Millisecond, "shortest think time between a user's tasks")
	flag.DurationVar(&c.thinkMax, "think-max", 2*time.Second, "longest think time between a user's tasks")
	flag.DurationVar(&c.sample, "sample", 15*time.Second, "interval of the RSS and goroutine samples from /metrics")
	flag.IntVar(&c.costTenants, "cost-tenants", 5, "tenants the current-costs task reads, spread so no tenant reaches its API rate limit")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Second, "per-request timeout")
	flag.Parse()
	rep, err := run(context.Background(), c, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	rep.print(os.Stdout)
	if rep.serverErrors > 0 {
		os.Exit(2)
	}
}

// report is the outcome of a run.
type report struct {
	cfg          config
	elapsed      time.Duration
	per          map[string]*vegeta.Metrics
	all          *vegeta.Metrics
	unexpected   map[string]map[uint16]int
	serverErrors int
	samples      []sample
	// backlog is how many tenants were still PROVISIONING when the load stopped, and
	// drained how long the provisioning jobs then took to finish them (-1: not within a
	// minute).
	backlog int
	drained time.Duration
}

// sample is one reading of the server's /metrics during the run.
type sample struct {
	at         time.Duration
	rss        float64
	heap       float64 // Go heap in use: what a leak grows, where RSS also keeps freed pages
	goroutines float64
	requests   uint64 // requests finished since the previous sample
}

// user is one simulated user: its pacer plans the next task and its think time, its
// targeter turns the plan into requests, and the results loop feeds the created tenant's id
// to the GET that follows a create.
type user struct {
	c       config
	run     string
	n       int
	token   string
	costIDs []string
	rng     *lockedRand

	plan    chan string // endpoint label of the next hits, for the targeter
	labels  chan string // the same labels, for the results loop
	created chan string // id of the tenant the last POST created ("" when it failed)
	started bool
	getNext bool
	seq     int
}

// Pace implements vegeta.Pacer: wait a think time, then one task; the GET of a create+get
// goes right after its POST (the worker takes the tick once the POST answered).
func (u *user) Pace(elapsed time.Duration, _ uint64) (time.Duration, bool) {
	if u.getNext {
		u.getNext = false
		u.push(epGet)
		return 0, false
	}
	wait := u.c.thinkMin + time.Duration(u.rng.Int64N(int64(u.c.thinkMax-u.c.thinkMin)+1))
	if !u.started {
		// Users start spread over one think time rather than all at once.
		u.started = true
		wait = time.Duration(u.rng.Int64N(int64(u.c.thinkMax) + 1))
	}
	if elapsed+wait > u.c.duration {
		return 0, true
	}
	total := 0
	for _, t := range mix {
		total += t.weight
	}
	r := u.rng.IntN(total)
	for _, t := range mix {
		if r < t.weight {
			switch t.name {
			case "health":
				u.push(epHealth)
			case "list":
				u.push(epList)
			case "create":
				u.push(epCreate)
				u.getNext = true
			case "unknown":
				u.push(epUnknown)
			case "costs":
				u.push(epCosts)
			}
			break
		}
		r -= t.weight
	}
	return wait, false
}

func (u *user) push(label string) {
	u.plan <- label
	u.labels <- label
}

// Rate implements vegeta.Pacer (reporting only).
func (u *user) Rate(time.Duration) float64 {
	return float64(time.Second) / float64((u.c.thinkMin+u.c.thinkMax)/2)
}

// target builds the request of the next planned hit.
func (u *user) target(t *vegeta.Target) error {
	label := <-u.plan
	h := http.Header{"Authorization": {"Bearer " + u.token}, "Accept": {"application/json"}}
	t.Header, t.Method, t.Body = h, http.MethodGet, nil
	switch label {
	case epHealth:
		t.URL, t.Header = u.c.target+"/health", http.Header{}
	case epList:
		t.URL = u.c.target + "/api/v1/tenants?page=1&page_size=20"
	case epCreate:
		u.seq++
		slug := fmt.Sprintf("load-%s-%d-%d", u.run, u.n, u.seq)
		b, _ := json.Marshal(map[string]any{"name": "Load " + slug, "slug": slug, "admin_email": "owner@" + slug + ".example"})
		t.Method, t.URL, t.Body = http.MethodPost, u.c.target+"/api/v1/tenants", b
		h.Set("Content-Type", "application/json")
	case epGet:
		id := <-u.created // handed over by the results loop as soon as the POST answered
		if id == "" {
			id = "00000000-0000-7000-8000-000000000000"
		}
		t.URL = u.c.target + "/api/v1/tenants/" + id
	case epUnknown:
		t.URL = u.c.target + "/api/v1/tenants/" + newUUIDv4(u.rng)
	case epCosts:
		t.URL = u.c.target + "/api/v1/tenants/" + u.costIDs[u.rng.IntN(len(u.costIDs))] + "/costs/current"
	}
	return nil
}

// lockedRand is one user's random source: vegeta calls the pacer and the targeter from
// different goroutines, and *rand.Rand is not safe for concurrent use.
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Int64N(n int64) int64 { l.mu.Lock(); defer l.mu.Unlock(); return l.r.Int64N(n) }
func (l *lockedRand) IntN(n int) int       { l.mu.Lock(); defer l.mu.Unlock(); return l.r.IntN(n) }
func (l *lockedRand) UintN(n uint) uint    { l.mu.Lock(); defer l.mu.Unlock(); return l.r.UintN(n) }

func newUUIDv4(r *lockedRand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func run(ctx context.Context, c config, logw io.Writer) (*report, error) {
	if c.email == "" || c.pass == "" {
		return nil, errors.New("set -email and -password (a platform operator)")
	}
	if c.users < 1 || c.thinkMax < c.thinkMin || c.thinkMin < 0 || c.costTenants < 1 {
		return nil, errors.New("need -users >= 1, 0 <= -think-min <= -think-max, -cost-tenants >= 1")
	}
	c.target = strings.TrimRight(c.target, "/")
	hc := &http.Client{Timeout: c.timeout}
	token, err := login(ctx, hc, c)
	if err != nil {
		return nil, err
	}
	runID := strconv.FormatInt(time.Now().Unix()%1_000_000, 36)
	costIDs, err := setupCostTenants(ctx, hc, c, token, runID)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "load: %d users for %s against %s (run %s)\n", c.users, c.duration, c.target, runID)

	rep := &report{cfg: c, per: map[string]*vegeta.Metrics{}, all: &vegeta.Metrics{}, unexpected: map[string]map[uint16]int{}}
	for _, ep := range endpoints {
		rep.per[ep] = &vegeta.Metrics{}
	}
	var mu sync.Mutex
	var finished uint64
	record := func(label string, r *vegeta.Result) {
		mu.Lock()
		defer mu.Unlock()
		finished++
		rep.per[label].Add(r)
		rep.all.Add(r)
		if r.Code >= 500 || r.Code == 0 {
			rep.serverErrors++
		}
		if r.Code != expected[label] {
			if rep.unexpected[label] == nil {
				rep.unexpected[label] = map[uint16]int{}
			}
			rep.unexpected[label][r.Code]++
		}
	}

	sampleCtx, stopSampling := context.WithCancel(ctx)
	samplesDone := make(chan []sample, 1)
	go func() {
		samplesDone <- sampleMetrics(sampleCtx, hc, c, func() uint64 { mu.Lock(); defer mu.Unlock(); return finished })
	}()

	began := time.Now()
	var wg sync.WaitGroup
	for i := range c.users {
		u := &user{c: c, run: runID, n: i, token: token, costIDs: costIDs,
			rng:  &lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i)))},
			plan: make(chan string, 8), labels: make(chan string, 8), created: make(chan string, 1)}
		atk := vegeta.NewAttacker(vegeta.Workers(1), vegeta.MaxWorkers(1), vegeta.Connections(1),
			vegeta.Timeout(c.timeout), vegeta.KeepAlive(true), vegeta.MaxBody(64<<10))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range atk.Attack(u.target, u, c.duration+c.thinkMax, "user-"+strconv.Itoa(i)) {
				label := <-u.labels
				if label == epCreate {
					var tn struct {
						ID string `json:"id"`
					}
					if r.Code == http.StatusCreated {
						_ = json.Unmarshal(r.Body, &tn)
					}
					u.created <- tn.ID
				}
				r.Body = nil
				record(label, r)
			}
		}()
	}
	wg.Wait()
	rep.elapsed = time.Since(began)
	stopSampling()
	rep.samples = <-samplesDone
	rep.backlog, rep.drained = provisioningBacklog(ctx, hc, c, token)
	for _, m := range rep.per {
		m.Close()
	}
	rep.all.Close()
	return rep, nil
}

// provisioningBacklog counts the tenants still PROVISIONING and waits (a minute at most) for
// the provisioning jobs to finish them.
func provisioningBacklog(ctx context.Context, hc *http.Client, c config, token string) (int, time.Duration) {
	began := time.Now()
	first := -1
	for time.Since(began) < time.Minute {
		var l struct {
			Pagination struct {
				TotalItems int `json:"total_items"`
			} `json:"pagination"`
		}
		if err := call(ctx, hc, http.MethodGet, c.target+"/api/v1/tenants?status=PROVISIONING&page_size=1", token, nil, http.StatusOK, &l); err != nil {
			return first, -1
		}
		if first < 0 {
			first = l.Pagination.TotalItems
		}
		if l.Pagination.TotalItems == 0 {
			return first, time.Since(began)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return first, -1
}

func login(ctx context.Context, hc *http.Client, c config) (string, error) {
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := call(ctx, hc, http.MethodPost, c.target+"/api/v1/auth/login", "", map[string]string{"email": c.email, "password": c.pass}, http.StatusOK, &out); err != nil {
		return "", fmt.Errorf("operator login: %w", err)
	}
	return out.AccessToken, nil
}

// setupCostTenants creates the tenants the current-costs task reads and waits until their
// provisioning made them ACTIVE.
func setupCostTenants(ctx context.Context, hc *http.Client, c config, token, runID string) ([]string, error) {
	var ids []string
	for i := range c.costTenants {
		slug := fmt.Sprintf("load-costs-%s-%d", runID, i)
		var tn struct {
			ID string `json:"id"`
		}
		if err := call(ctx, hc, http.MethodPost, c.target+"/api/v1/tenants", token,
			map[string]string{"name": "Load costs " + slug, "slug": slug, "admin_email": "owner@" + slug + ".example"}, http.StatusCreated, &tn); err != nil {
			return nil, fmt.Errorf("create a costs tenant: %w", err)
		}
		ids = append(ids, tn.ID)
	}
	deadline := time.Now().Add(time.Minute)
	for _, id := range ids {
		for {
			var tn struct {
				Status string `json:"status"`
			}
			if err := call(ctx, hc, http.MethodGet, c.target+"/api/v1/tenants/"+id, token, nil, http.StatusOK, &tn); err != nil {
				return nil, err
			}
			if tn.Status == "ACTIVE" {
				break
			}
			if tn.Status != "PROVISIONING" || time.Now().After(deadline) {
				return nil, fmt.Errorf("costs tenant %s is %s (are job workers running?)", id, tn.Status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return ids, nil
}

func call(ctx context.Context, hc *http.Client, method, url, token string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, url, res.StatusCode, b)
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// sampleMetrics reads process_resident_memory_bytes, go_memstats_heap_inuse_bytes and
// go_goroutines from the server's
// /metrics at the start and every c.sample until ctx ends (plus one last reading).
func sampleMetrics(ctx context.Context, hc *http.Client, c config, finished func() uint64) []sample {
	began := time.Now()
	var out []sample
	var last uint64
	take := func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		got, err := scrape(rctx, hc, c.target+"/metrics")
		if err != nil {
			return
		}
		n := finished()
		got.at, got.requests = time.Since(began).Round(time.Second), n-last
		out = append(out, got)
		last = n
	}
	take()
	tick := time.NewTicker(c.sample)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			take()
			return out
		case <-tick.C:
			take()
		}
	}
}

func scrape(ctx context.Context, hc *http.Client, url string) (sample, error) {
	var got sample
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return got, err
	}
	res, err := hc.Do(req)
	if err != nil {
		return got, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return got, err
	}
	fields := map[string]*float64{
		"process_resident_memory_bytes": &got.rss,
		"go_memstats_heap_inuse_bytes":  &got.heap,
		"go_goroutines":                 &got.goroutines,
	}
	found := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		name, val, ok := strings.Cut(line, " ")
		if dst := fields[name]; ok && dst != nil {
			if *dst, err = strconv.ParseFloat(strings.TrimSpace(val), 64); err != nil {
				return got, err
			}
			found++
		}
	}
	if found != len(fields) {
		return got, errors.New("/metrics lacks process_resident_memory_bytes, go_memstats_heap_inuse_bytes or go_goroutines")
	}
	return got, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "%d users, think %s..%s, %s (%.0f req/s)\n\n", r.cfg.users, r.cfg.thinkMin, r.cfg.thinkMax,
		r.elapsed.Round(time.Second), float64(r.all.Requests)/r.elapsed.Seconds())
	fmt.Fprintln(w, "| endpoint | requests | p50 ms | p95 ms | p99 ms | max ms | 5xx | other unexpected |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	row := func(name string, m *vegeta.Metrics, unexpected map[uint16]int) {
		fivexx := 0
		for code, n := range m.StatusCodes {
			if c, _ := strconv.Atoi(code); c >= 500 || c == 0 {
				fivexx += n
			}
		}
		var other []string
		codes := make([]int, 0, len(unexpected))
		for code := range unexpected {
			codes = append(codes, int(code))
		}
		sort.Ints(codes)
		for _, code := range codes {
			if code < 500 && code != 0 {
				other = append(other, fmt.Sprintf("%d×%d", unexpected[uint16(code)], code))
			}
		}
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %d | %s |\n", name, m.Requests, ms(m.Latencies.P50), ms(m.Latencies.P95),
			ms(m.Latencies.P99), ms(m.Latencies.Max), fivexx, strings.Join(other, ", "))
	}
	for _, ep := range endpoints {
		row(ep, r.per[ep], r.unexpected[ep])
	}
	all := map[uint16]int{}
	for _, u := range r.unexpected {
		for code, n := range u {
			all[code] += n
		}
	}
	row("**overall**", r.all, all)
	drained := "not within a minute"
	if r.drained >= 0 {
		drained = "drained in " + r.drained.Round(100*time.Millisecond).String()
	}
	fmt.Fprintf(w, "\ntenants still PROVISIONING when the load stopped: %d (%s)\n", r.backlog, drained)
	if len(r.samples) > 0 {
		fmt.Fprintln(w, "\n| t | server RSS MiB | Go heap in use MiB | goroutines | requests since previous |")
		fmt.Fprintln(w, "|---:|---:|---:|---:|---:|")
		for _, s := range r.samples {
			fmt.Fprintf(w, "| %s | %.1f | %.1f | %.0f | %d |\n", s.at, s.rss/(1<<20), s.heap/(1<<20), s.goroutines, s.requests)
		}
	}
}
