package gateway

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/modelwatch/modelwatch/internal/apierror"
	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/catalog"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

func newGateway(t *testing.T, observers ...invocation.Observer) *Gateway {
	t.Helper()
	cat, err := catalog.New("us-east-1", "000000000000", nil)
	if err != nil {
		t.Fatal(err)
	}
	authn, err := auth.New(nil, auth.Options{AccountID: "000000000000", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Catalog: cat, Auth: authn, Observers: observers, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestFinishRunsEveryObserverOnceDespitePanics(t *testing.T) {
	var seen []*invocation.Invocation
	g := newGateway(t,
		invocation.ObserverFunc(func(*invocation.Invocation) { panic("faulty observer") }),
		invocation.ObserverFunc(func(inv *invocation.Invocation) { seen = append(seen, inv) }),
	)
	r := httptest.NewRequest("POST", "/model/x/invoke", nil)
	call := g.begin(r, invocation.APIBedrock, invocation.InvokeModel, "x")
	if g.InFlight() != 1 {
		t.Fatalf("in flight = %d", g.InFlight())
	}
	err := apierror.New(apierror.Throttling, "slow down")
	call.finish(context.Background(), 429, invocation.Body{Data: []byte(`{}`)}, err)
	call.finish(context.Background(), 200, invocation.Body{}, nil)
	if len(seen) != 1 || g.ObserverPanics() != 1 || g.InFlight() != 0 {
		t.Fatalf("seen %d, panics %d, in flight %d", len(seen), g.ObserverPanics(), g.InFlight())
	}
	inv := seen[0]
	if inv.ErrorCode != "ThrottlingException" || inv.Status != 429 || inv.Outcome() != invocation.Throttled || inv.End.Before(inv.Start) {
		t.Errorf("invocation %+v", inv)
	}
}

func TestClientGoneIsRecorded(t *testing.T) {
	var got *invocation.Invocation
	g := newGateway(t, invocation.ObserverFunc(func(inv *invocation.Invocation) { got = inv }))
	call := g.begin(httptest.NewRequest("POST", "/", nil), invocation.APIBedrock, invocation.Converse, "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	call.finish(ctx, 500, invocation.Body{}, errors.Join(context.Canceled))
	if got.Status != StatusClientClosedRequest || got.ErrorCode != ErrorCodeClientClosed {
		t.Errorf("status %d code %q", got.Status, got.ErrorCode)
	}
}

func TestAuthenticateWithoutCheck(t *testing.T) {
	g := newGateway(t)
	call := g.begin(httptest.NewRequest("POST", "/", nil), invocation.APIBedrock, invocation.Converse, "x")
	var e *apierror.Error
	if err := call.authenticate(nil); !errors.As(err, &e) || e.Code != apierror.MissingAuthenticationToken {
		t.Errorf("err = %v", err)
	}
}
