package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime/types"

	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/server"
)

// rawRoundTrip sends a raw HTTP/1.1 request and returns the raw response,
// so header names can be compared byte for byte.
func rawRoundTrip(t *testing.T, addr, method, path, body string) string {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	req := method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(resp)
}

func TestWireBytes(t *testing.T) {
	srv, _ := startServer(t, nil)
	t.Run("error shape", func(t *testing.T) {
		resp := rawRoundTrip(t, srv.Addr(), "POST", "/model/nope.nope-v1%3A0/invoke", `{}`)
		for _, want := range []string{
			"HTTP/1.1 400 Bad Request\r\n",
			"\r\nx-amzn-ErrorType: ValidationException\r\n",
			"\r\nContent-Type: application/json\r\n",
			"\r\n\r\n{\"message\":\"The provided model identifier is invalid.\"}",
		} {
			if !strings.Contains(resp, want) {
				t.Errorf("response lacks %q:\n%s", want, resp)
			}
		}
		if !strings.Contains(resp, "\r\nx-amzn-RequestId: ") {
			t.Errorf("no x-amzn-RequestId header:\n%s", resp)
		}
	})
	t.Run("unencoded ARN in the path", func(t *testing.T) {
		resp := rawRoundTrip(t, srv.Addr(), "POST", "/model/arn:aws:bedrock:us-east-1::foundation-model/"+haiku+"/invoke", string(invokeBody))
		for _, want := range []string{"HTTP/1.1 200 OK\r\n", "\r\nX-Amzn-Bedrock-Input-Token-Count: ", "\r\nX-Amzn-Bedrock-Output-Token-Count: ", "\r\nX-Amzn-Bedrock-Invocation-Latency: "} {
			if !strings.Contains(resp, want) {
				t.Errorf("response lacks %q:\n%s", want, resp)
			}
		}
	})
}

func TestGracefulShutdownDrainsInFlightCalls(t *testing.T) {
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	for i := range cfg.Models {
		cfg.Models[i].Simulator.TimeToFirstToken = 300 * time.Millisecond
		cfg.Models[i].Simulator.TimePerOutputToken = 0
	}
	rec := &recorder{}
	srv, stop := runServer(t, cfg, rec)

	client := runtimeClient(srv.URL(), "AKIDEXAMPLE", "secret")
	result := make(chan error, 1)
	go func() {
		_, err := client.Converse(context.Background(), &bedrockruntime.ConverseInput{
			ModelId:  aws.String(haiku),
			Messages: []types.Message{{Role: types.ConversationRoleUser, Content: []types.ContentBlock{text("hi")}}},
		})
		result <- err
	}()
	for srv.Gateway().InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }() // SIGTERM
	if err := <-result; err != nil {
		t.Fatalf("in-flight call failed during shutdown: %v", err)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rec.count() != 1 || !rec.shut {
		t.Errorf("observer saw %d invocations, shut down %v", rec.count(), rec.shut)
	}
}

func TestStartupRules(t *testing.T) {
	quiet := server.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	t.Run("non-loopback without principals is refused", func(t *testing.T) {
		cfg := config.Default()
		cfg.Listen = "0.0.0.0:0"
		cfg.DataDir = t.TempDir()
		_, err := server.New(cfg, quiet)
		if err == nil || !strings.Contains(err.Error(), "auth.principals") {
			t.Fatalf("err = %v, want a refusal that says how to configure a principal", err)
		}
	})
	t.Run("data dir is exclusive", func(t *testing.T) {
		cfg := config.Default()
		cfg.Listen = "127.0.0.1:0"
		cfg.DataDir = t.TempDir()
		_, stop := runServer(t, cfg)
		defer stop()
		if _, err := server.New(cfg, quiet); err == nil || !strings.Contains(err.Error(), "in use") {
			t.Errorf("second server on the same data dir: %v", err)
		}
	})
}
