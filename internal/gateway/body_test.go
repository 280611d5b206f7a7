package gateway

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/modelwatch/modelwatch/internal/apierror"
)

// bodyRequest is a request whose body is data, declared with
// Content-Length (declared >= 0) or chunked (declared == -1).
func bodyRequest(data []byte, declared int64) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/model/m/invoke", bytes.NewReader(data))
	r.ContentLength = declared
	return r
}

func TestReadBody_ChargesTheBufferGrownForTheBytesThatArrived(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		chunked  bool
		wantHeld int64 // bytes charged for the finished body
	}{
		{"empty", 0, false, 1},
		{"empty chunked", 0, true, 4 << 10},
		{"one byte", 1, false, 2},
		{"2 KB declared", 2 << 10, false, 2<<10 + 1},
		{"2 KB chunked", 2 << 10, true, 4 << 10},
		{"exactly the first buffer", 4 << 10, false, 4<<10 + 1},
		{"one byte past the first buffer", 4<<10 + 1, false, 4<<10 + 2},
		{"1,000,000 declared", 1_000_000, false, 1_000_001},
		{"1,000,000 chunked", 1_000_000, true, 1 << 20},
		// A chunked body that fills a buffer exactly doubles it once more
		// before it can see EOF.
		{"1 MiB chunked", 1 << 20, true, 2 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := bytes.Repeat([]byte("x"), tc.size)
			declared := int64(tc.size)
			if tc.chunked {
				declared = -1
			}
			b := NewBodyBudget(0, nil)
			body, release, err := b.ReadBody(httptest.NewRecorder(), bodyRequest(data, declared), 25_000_000)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, data) || body == nil {
				t.Fatalf("read %d bytes (nil %v), want %d", len(body), body == nil, tc.size)
			}
			if got := b.InFlight(); got != tc.wantHeld {
				t.Errorf("charged %d bytes, want %d", got, tc.wantHeld)
			}
			release()
			release()
			if got := b.InFlight(); got != 0 {
				t.Errorf("after release %d bytes charged, want 0", got)
			}
		})
	}
}

// stallingBody sends data, then calls stall (the server's view of a
// client that stopped sending) and fails like a read timeout.
type stallingBody struct {
	data  []byte
	stall func()
}

func (s *stallingBody) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	s.stall()
	return 0, errors.New("i/o timeout")
}

func (*stallingBody) Close() error { return nil }

func TestReadBody_NoBodyCostsNothing(t *testing.T) {
	b := NewBodyBudget(0, nil)
	r := httptest.NewRequest(http.MethodGet, "/foundation-models", nil)
	body, release, err := b.ReadBody(httptest.NewRecorder(), r, 1000)
	release()
	if err != nil || body == nil || len(body) != 0 || b.InFlight() != 0 {
		t.Fatalf("body %v (nil %v), %v, %d charged", body, body == nil, err, b.InFlight())
	}
}

func TestReadBody_ClaimedLengthCostsOnlyTheFirstBuffer(t *testing.T) {
	b := NewBodyBudget(0, nil)
	r := httptest.NewRequest(http.MethodPost, "/model/m/invoke", nil)
	r.ContentLength = 24_000_000
	var heldWhileStalled int64 = -1
	r.Body = &stallingBody{data: bytes.Repeat([]byte("{"), 250), stall: func() { heldWhileStalled = b.InFlight() }}
	_, release, err := b.ReadBody(httptest.NewRecorder(), r, 25_000_000)
	release()
	if heldWhileStalled != 4096 {
		t.Errorf("a 24 MB claim with 250 bytes sent held %d bytes, want 4096", heldWhileStalled)
	}
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.Validation || !strings.Contains(e.Message, "could not be read completely") {
		t.Fatalf("error %v, want the ValidationException of a body cut short", err)
	}
	if got := b.InFlight(); got != 0 {
		t.Errorf("a failed read left %d bytes charged", got)
	}

	r.Body = &stallingBody{stall: func() { heldWhileStalled = b.InFlight() }}
	_, _, _ = b.ReadBody(httptest.NewRecorder(), r, 25_000_000)
	if heldWhileStalled != 4096 {
		t.Errorf("a 24 MB claim with no byte sent held %d bytes, want 4096", heldWhileStalled)
	}
}

func TestReadBody_RefusesOverTheLimitAndClosesTheConnection(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		declared int64
	}{
		{"declared over the limit", 10, 1001},
		{"chunked over the limit", 1001, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			b := NewBodyBudget(0, nil)
			_, _, err := b.ReadBody(w, bodyRequest(bytes.Repeat([]byte("x"), tc.size), tc.declared), 1000)
			if !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("error %v, want ErrBodyTooLarge", err)
			}
			if w.Header().Get("Connection") != "close" {
				t.Error("the connection is not marked for closing")
			}
			if b.InFlight() != 0 {
				t.Errorf("%d bytes left charged", b.InFlight())
			}
		})
	}
	// A body of exactly the limit is accepted, declared or chunked.
	for _, declared := range []int64{1000, -1} {
		body, _, err := (*BodyBudget)(nil).ReadBody(httptest.NewRecorder(), bodyRequest(bytes.Repeat([]byte("x"), 1000), declared), 1000)
		if err != nil || len(body) != 1000 {
			t.Errorf("declared %d: read %d bytes, %v", declared, len(body), err)
		}
	}
}

func TestBodyBudget_RefusesPastTheBudgetWithServiceUnavailable(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := NewBodyBudget(10_000, reg)
	held, release, err := b.ReadBody(httptest.NewRecorder(), bodyRequest(make([]byte, 8000), 8000), 1<<20)
	if err != nil || len(held) != 8000 || b.InFlight() != 8001 {
		t.Fatalf("first body: %d bytes, %v, %d charged", len(held), err, b.InFlight())
	}
	w := httptest.NewRecorder()
	_, release2, err := b.ReadBody(w, bodyRequest(make([]byte, 4000), 4000), 1<<20)
	release2()
	var e *apierror.Error
	if !errors.As(err, &e) || e.Code != apierror.ServiceUnavailable || e.Status() != http.StatusServiceUnavailable {
		t.Fatalf("error %v, want ServiceUnavailableException 503", err)
	}
	if w.Header().Get("Connection") != "close" {
		t.Error("a refused body is left unread: the connection must close")
	}
	if got := testutil.ToFloat64(b.refused); got != 1 {
		t.Errorf("refusals counted %v, want 1", got)
	}
	if b.InFlight() != 8001 {
		t.Errorf("a refused body left %d bytes charged, want the first body's 8001", b.InFlight())
	}
	release()
	if _, release, err = b.ReadBody(httptest.NewRecorder(), bodyRequest(make([]byte, 4000), 4000), 1<<20); err != nil {
		t.Fatalf("after the first body was released: %v", err)
	}
	release()
	if b.InFlight() != 0 {
		t.Errorf("%d bytes charged after every body was released", b.InFlight())
	}
	if n, err := testutil.GatherAndCount(reg, "modelwatch_request_body_bytes_in_flight", "modelwatch_request_body_budget_refusals_total"); err != nil || n != 2 {
		t.Errorf("registered %d metrics, %v; want 2", n, err)
	}
}

func TestBodyBudget_ConcurrentReadsNeverPassTheBudget(t *testing.T) {
	const limit = 64 << 10
	b := NewBodyBudget(limit, nil)
	var mu sync.Mutex
	var peak int64
	var wg sync.WaitGroup
	ok, refused := 0, 0
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			size := 1000 + 997*i // 1 KB to 63 KB
			body, release, err := b.ReadBody(httptest.NewRecorder(), bodyRequest(make([]byte, size), -1), 1<<20)
			mu.Lock()
			defer mu.Unlock()
			peak = max(peak, b.InFlight())
			if err != nil {
				refused++
				return
			}
			if len(body) != size {
				t.Errorf("read %d bytes, want %d", len(body), size)
			}
			ok++
			release()
		}()
	}
	wg.Wait()
	if peak > limit {
		t.Errorf("%d bytes were charged at once, over the %d-byte budget", peak, limit)
	}
	if b.InFlight() != 0 || ok+refused != 64 || testutil.ToFloat64(b.refused) != float64(refused) {
		t.Errorf("%d bytes left charged; %d read, %d refused, %v counted", b.InFlight(), ok, refused, testutil.ToFloat64(b.refused))
	}
}

func TestNextBodyBuffer_DoublesWithinTheClaimAndTheLimit(t *testing.T) {
	for _, tc := range []struct {
		capacity, length, declared, limit, want int64
	}{
		{0, 0, -1, 1 << 20, 4096},                          // first buffer of a chunked body
		{0, 0, 100, 1 << 20, 101},                          // a small declared body: its size and a spare byte
		{4096, 4096, -1, 1 << 20, 8192},                    // doubling
		{524288, 524288, 1_000_000, 25_000_000, 1_000_001}, // never past the claim
		{8192, 8192, 8000, 1 << 20, 16384},                 // past the claim (not over HTTP): double
		{8192, 8192, -1, 10_000, 10_001},                   // never past limit+1
	} {
		if got := nextBodyBuffer(tc.capacity, tc.length, tc.declared, tc.limit); got != tc.want {
			t.Errorf("nextBodyBuffer(%d, %d, %d, %d) = %d, want %d", tc.capacity, tc.length, tc.declared, tc.limit, got, tc.want)
		}
	}
}

// benchBody is a request body that can be read again, so the benchmark
// measures ReadBody and not the construction of readers.
type benchBody struct{ bytes.Reader }

func (*benchBody) Close() error { return nil }

func BenchmarkReadBody(b *testing.B) {
	for _, bc := range []struct {
		name    string
		size    int
		chunked bool
	}{
		{"2KB", 2 << 10, false},
		{"1MB", 1 << 20, false},
		{"2KB-chunked", 2 << 10, true},
		{"1MB-chunked", 1 << 20, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			data := bytes.Repeat([]byte("a"), bc.size)
			body := &benchBody{}
			r := httptest.NewRequest(http.MethodPost, "/model/m/invoke", nil)
			r.Body = body
			w := httptest.NewRecorder()
			b.SetBytes(int64(bc.size))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(data)
				r.ContentLength = int64(bc.size)
				if bc.chunked {
					r.ContentLength = -1
				}
				got, _, err := (*BodyBudget)(nil).ReadBody(w, r, 25_000_000)
				if err != nil || len(got) != bc.size {
					b.Fatalf("read %d bytes, %v", len(got), err)
				}
			}
		})
	}
}
