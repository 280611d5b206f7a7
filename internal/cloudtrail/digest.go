package cloudtrail

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Digest file constants.
const (
	// SignatureAlgorithm is digestSignatureAlgorithm and the
	// signature-algorithm user metadata.
	SignatureAlgorithm = "SHA256withRSA"
	// HashAlgorithm is the hashAlgorithm of log files and digests.
	HashAlgorithm = "SHA-256"
	// MetaSignature and MetaSignatureAlgorithm are the user-metadata keys
	// (x-amz-meta-…) of a digest's signature.
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
	// KeyFile is the digest signing key in Options.Dir (PEM, PKCS #1,
	// mode 0600).
	KeyFile = "digest-key.pem"
)

// Digest is a digest file (spec: CloudTrail digest file structure).
type Digest struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             Time      `json:"digestStartTime"`
	DigestEndTime               Time      `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime             Time      `json:"newestEventTime"`
	OldestEventTime             Time      `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []LogFile `json:"logFiles"`
}

// LogFile is one entry of a digest's logFiles.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime Time   `json:"newestEventTime"`
	OldestEventTime Time   `json:"oldestEventTime"`
}

// SigningString is the string a digest's signature covers:
// digestEndTime, bucket/object, hex SHA-256 of the uncompressed digest and
// the previous signature ("null" when there is none), "\n"-separated.
func SigningString(d *Digest, uncompressed []byte) string {
	h := sha256.Sum256(uncompressed)
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime.UTC().Format(TimeFormat) + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" +
		hex.EncodeToString(h[:]) + "\n" + prev
}

// PublicKey is a digest verification key, as ListPublicKeys returns it.
type PublicKey struct {
	// Value is the DER encoding of the PKCS #1 RSA public key.
	Value             []byte
	ValidityStartTime time.Time
	ValidityEndTime   time.Time
	// Fingerprint is digestPublicKeyFingerprint: hex MD5 of Value.
	Fingerprint string
}

// Fingerprint returns the fingerprint of a DER PKCS #1 public key: the hex
// MD5 of the DER bytes (32 hex digits, the shape of CloudTrail's).
func Fingerprint(der []byte) string {
	h := md5.Sum(der)
	return hex.EncodeToString(h[:])
}

// RSA returns the key as an *rsa.PublicKey.
func (k PublicKey) RSA() (*rsa.PublicKey, error) {
	return x509.ParsePKCS1PublicKey(k.Value)
}

// signer is the trail's digest key.
type signer struct {
	key         *rsa.PrivateKey
	pub         PublicKey
	fingerprint string
}

func (s *signer) sign(msg string) (string, error) {
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, h[:])
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(sig), nil
}

// loadOrCreateKey reads dir/KeyFile, creating an RSA-2048 key (mode 0600)
// when it does not exist.
func loadOrCreateKey(dir string) (*signer, error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key, gerr := rsa.GenerateKey(rand.Reader, 2048)
		if gerr != nil {
			return nil, gerr
		}
		b = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
		if err := writeFileAtomic(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("cloudtrail: write digest key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("cloudtrail: read digest key: %w", err)
	}
	key, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	der := x509.MarshalPKCS1PublicKey(&key.PublicKey)
	s := &signer{key: key, fingerprint: Fingerprint(der)}
	s.pub = PublicKey{Value: der, ValidityStartTime: fi.ModTime().UTC().Truncate(time.Second), Fingerprint: s.fingerprint}
	return s, nil
}

func parseKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "RSA PRIVATE KEY" {
		return nil, errors.New("not a PEM RSA PRIVATE KEY")
	}
	return x509.ParsePKCS1PrivateKey(blk.Bytes)
}

// PublicKeys returns the digest public keys of the trail whose Options.Dir
// is dir (one key: modelwatch does not rotate it). ValidityEndTime is now.
func PublicKeys(dir string) ([]PublicKey, error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: read digest key: %w", err)
	}
	key, err := parseKey(b)
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: %s: %w", path, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	der := x509.MarshalPKCS1PublicKey(&key.PublicKey)
	return []PublicKey{{Value: der, ValidityStartTime: fi.ModTime().UTC().Truncate(time.Second),
		ValidityEndTime: time.Now().UTC().Truncate(time.Second), Fingerprint: Fingerprint(der)}}, nil
}

// writeFileAtomic writes b to path through a temporary file, fsynced and
// renamed.
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// joinPrefix puts the trail's key prefix before rest.
func joinPrefix(prefix, rest string) string {
	prefix = strings.Trim(prefix, "/")
	if prefix == "" {
		return rest
	}
	return prefix + "/" + rest
}

// LogsPrefix is the key prefix of the log files of one Region.
func LogsPrefix(prefix, account, region string) string {
	return joinPrefix(prefix, "AWSLogs/"+account+"/CloudTrail/"+region+"/")
}

// DigestsPrefix is the key prefix of the digest files of one Region.
func DigestsPrefix(prefix, account, region string) string {
	return joinPrefix(prefix, "AWSLogs/"+account+"/CloudTrail-Digest/"+region+"/")
}

// LogKey is the key of a log file delivered at t.
func LogKey(prefix, account, region string, t time.Time, unique string) string {
	t = t.UTC()
	return LogsPrefix(prefix, account, region) + t.Format("2006/01/02/") +
		account + "_CloudTrail_" + region + "_" + t.Format("20060102T1504Z") + "_" + unique + ".json.gz"
}

// DigestKey is the key of the digest file whose window ends at end.
func DigestKey(prefix, account, region, trail string, end time.Time) string {
	end = end.UTC()
	return DigestsPrefix(prefix, account, region) + end.Format("2006/01/02/") +
		account + "_CloudTrail-Digest_" + region + "_" + trail + "_" + region + "_" + end.Format("20060102T150405Z") + ".json.gz"
}

// digestKeyTime parses the end time out of a digest key ("" on failure).
func digestKeyTime(key string) (time.Time, bool) {
	base := key[strings.LastIndexByte(key, '/')+1:]
	base, ok := strings.CutSuffix(base, ".json.gz")
	if !ok {
		return time.Time{}, false
	}
	i := strings.LastIndexByte(base, '_')
	if i < 0 {
		return time.Time{}, false
	}
	t, err := time.Parse("20060102T150405Z", base[i+1:])
	return t, err == nil
}

// marshalDigest encodes d as its file's uncompressed bytes.
func marshalDigest(d *Digest) ([]byte, error) {
	if d.LogFiles == nil {
		d.LogFiles = []LogFile{}
	}
	return json.Marshal(d)
}
