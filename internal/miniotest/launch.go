package miniotest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Installed reports whether a MinIO binary can be found (see Start).
func Installed() bool {
	_, err := findBinary()
	return err == nil
}

// Launch runs a MinIO server outside tests (for example for the load
// harness): like Start, on free loopback ports with random root
// credentials, with its data under dir (which must exist and is left to the
// caller to remove). The caller must call Stop.
func Launch(dir string) (*Server, error) {
	bin, err := findBinary()
	if err != nil {
		return nil, fmt.Errorf("miniotest: %w; install MinIO with %q", err, InstallHint)
	}
	s := &Server{
		AccessKey: "mwbench-" + randHex(6),
		SecretKey: "mwsecret-" + randHex(12),
		Region:    "us-east-1",
		bin:       bin,
		dataDir:   filepath.Join(dir, "data"),
		certsDir:  filepath.Join(dir, "certs"),
		out:       &syncBuffer{},
	}
	if err := os.MkdirAll(s.dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("miniotest: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			return nil, fmt.Errorf("miniotest: %w", err)
		}
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
		s.console = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))
		s.Endpoint = "http://" + s.addr
		if lastErr = s.start(); lastErr == nil {
			return s, nil
		}
		s.Stop()
		if !errors.Is(lastErr, errExited) {
			break
		}
	}
	return nil, fmt.Errorf("miniotest: %w\nMinIO output:\n%s", lastErr, s.Output())
}

// S3Client is Client without a test: a path-style S3 client with the root
// credentials.
func (s *Server) S3Client() *s3.Client { return s.client() }
