package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bedrockruntime"

	"github.com/modelwatch/modelwatch/internal/auth"
	"github.com/modelwatch/modelwatch/internal/config"
	"github.com/modelwatch/modelwatch/internal/invocation"
)

const (
	aliceKeyID  = "AKIAALICE00000EXAMPLE"
	aliceSecret = "alice/K7MDENG/bPxRfiCYEXAMPLEKEY"
	aliceAPIKey = "mw-alice-0123456789abcdefghijklmnop"
)

func withAlice(c *config.Config) {
	c.Auth.Principals = []auth.Principal{{
		Name:       "alice",
		ARN:        "arn:aws:iam::000000000000:user/alice",
		AccessKeys: []auth.AccessKey{{ID: aliceKeyID, Secret: aliceSecret}},
		APIKeys:    []auth.Secret{aliceAPIKey},
	}}
}

var invokeBody = []byte(`{"anthropic_version":"bedrock-2023-05-31","max_tokens":20,"messages":[{"role":"user","content":"hi"}]}`)

func TestSigV4(t *testing.T) {
	srv, rec := startServer(t, withAlice)
	ctx := context.Background()
	invoke := func(c *bedrockruntime.Client) (*bedrockruntime.InvokeModelOutput, error) {
		return c.InvokeModel(ctx, &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody})
	}

	out, err := invoke(runtimeClient(srv.URL(), aliceKeyID, aliceSecret))
	if err != nil {
		t.Fatal(err)
	}
	inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
	if inv.PrincipalARN != "arn:aws:iam::000000000000:user/alice" || inv.AuthMethod != invocation.AuthSigV4 || inv.AccessKeyID != aliceKeyID {
		t.Errorf("principal %q method %q key %q", inv.PrincipalARN, inv.AuthMethod, inv.AccessKeyID)
	}

	for _, tt := range []struct {
		name, keyID, secret, code string
		opt                       func(*bedrockruntime.Options)
	}{
		{"wrong secret", aliceKeyID, "not-the-secret", "InvalidSignatureException", nil},
		{"unknown key", "AKIAUNKNOWN000EXAMPLE", aliceSecret, "UnrecognizedClientException", nil},
		{"wrong region", aliceKeyID, aliceSecret, "InvalidSignatureException", func(o *bedrockruntime.Options) { o.Region = "us-west-2" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var opts []func(*bedrockruntime.Options)
			if tt.opt != nil {
				opts = append(opts, tt.opt)
			}
			before := rec.count()
			_, err := invoke(runtimeClient(srv.URL(), tt.keyID, tt.secret, opts...))
			apiError(t, err, tt.code, 403, "")
			if rec.count() != before+1 {
				t.Fatal("a refused call did not produce exactly one invocation")
			}
			rec.mu.Lock()
			last := rec.invs[len(rec.invs)-1]
			rec.mu.Unlock()
			if last.ErrorCode != tt.code || last.PrincipalARN != "" {
				t.Errorf("invocation error %q principal %q", last.ErrorCode, last.PrincipalARN)
			}
		})
	}

	t.Run("no credentials", func(t *testing.T) {
		resp, err := http.Post(srv.URL()+"/model/"+haiku+"/invoke", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
			t.Errorf("status %d type %q", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
		}
	})
	t.Run("control plane requires a signature too", func(t *testing.T) {
		_, err := controlClient(srv.URL(), aliceKeyID, "wrong").ListFoundationModels(ctx, nil)
		apiError(t, err, "InvalidSignatureException", 403, "")
		if _, err := controlClient(srv.URL(), aliceKeyID, aliceSecret).ListFoundationModels(ctx, nil); err != nil {
			t.Error(err)
		}
	})
}

// TestBearerAPIKeyOverTLS uses the SDK's own bearer support
// (AWS_BEARER_TOKEN_BEDROCK), which only sends tokens over HTTPS.
func TestBearerAPIKeyOverTLS(t *testing.T) {
	certFile, keyFile, pool := selfSignedCert(t)
	srv, rec := startServer(t, func(c *config.Config) {
		withAlice(c)
		c.TLS = config.TLS{CertFile: certFile, KeyFile: keyFile}
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, tt := range []struct {
		name, token, code string
	}{
		{"valid key", aliceAPIKey, ""},
		{"invalid key", "mw-mallory-0123456789abcdefghijklmnop", "UnrecognizedClientException"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("AWS_BEARER_TOKEN_BEDROCK", tt.token)
			client := runtimeClient(srv.URL(), "AKIDIGNORED", "ignored", func(o *bedrockruntime.Options) { o.HTTPClient = hc })
			out, err := client.InvokeModel(context.Background(), &bedrockruntime.InvokeModelInput{ModelId: aws.String(haiku), Body: invokeBody})
			if tt.code != "" {
				apiError(t, err, tt.code, 403, "")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			inv := rec.byRequestID(t, requestID(t, out.ResultMetadata))
			if inv.AuthMethod != invocation.AuthBearer || inv.PrincipalName != "alice" {
				t.Errorf("method %q principal %q", inv.AuthMethod, inv.PrincipalName)
			}
		})
	}
}

func selfSignedCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "modelwatch test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}
