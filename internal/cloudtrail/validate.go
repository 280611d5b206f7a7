package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/modelwatch/modelwatch/internal/sink/objectstore"
)

// validator is one run of Validate.
type validator struct {
	ctx                      context.Context
	store                    objectstore.Store
	region                   string
	keys                     map[string]*rsa.PublicKey
	out                      io.Writer
	validDigests, badDigests int
	validLogs, badLogs       int
	foundStart, foundEnd     time.Time
}

// Validate checks the digest and log files of the trail in bucket/prefix
// for accountID and region whose digests end in [start, end], as `aws
// cloudtrail validate-logs --verbose` does, writing its tab-separated
// status lines and summary to out. It walks from the newest digest back
// along the chain (previousDigestS3Object; a null link or a missing digest
// continues with the next older digest listed), verifies each digest's
// location, key fingerprint and signature, and each listed log file's
// SHA-256. allValid is false when any file is INVALID; err is for failures
// to list the bucket or read metadata, not for invalid files.
func Validate(ctx context.Context, store objectstore.Store, bucket, prefix, accountID, region string, start, end time.Time,
	keys []PublicKey, out io.Writer) (allValid bool, err error) {
	v := &validator{ctx: ctx, store: store, region: region, keys: map[string]*rsa.PublicKey{}, out: out}
	for _, k := range keys {
		pk, err := k.RSA()
		if err != nil {
			return false, fmt.Errorf("cloudtrail: public key %s: %w", k.Fingerprint, err)
		}
		fp := k.Fingerprint
		if fp == "" {
			fp = Fingerprint(k.Value)
		}
		v.keys[fp] = pk
	}
	start, end = start.UTC().Truncate(time.Second), end.UTC().Truncate(time.Second)
	listed, err := listDigests(ctx, store, bucket, DigestsPrefix(prefix, accountID, region), start, end)
	if err != nil {
		return false, err
	}
	// Walk from the newest. pos is the index in listed at or below which
	// the "next older listed key" is searched.
	next := func(key string) (string, bool) {
		i := sort.SearchStrings(listed, key) - 1
		for ; i >= 0; i-- {
			if listed[i] < key {
				return listed[i], true
			}
		}
		return "", false
	}
	key, ok := "", len(listed) > 0
	if ok {
		key = listed[len(listed)-1]
	}
	curBucket := bucket
	visited := map[string]bool{}
	for ok {
		if err := ctx.Err(); err != nil {
			return false, err
		}
		if visited[curBucket+"/"+key] {
			break // a loop in the chain
		}
		visited[curBucket+"/"+key] = true
		d, status, err := v.digest(curBucket, key)
		if err != nil {
			return false, err
		}
		if status != "" {
			v.status("Digest file", curBucket, key, "INVALID: "+status)
			v.badDigests++
			// A digest whose signature fails is not trusted, but its
			// link is still the best way on: every digest reached is
			// verified itself. Otherwise continue with the next older
			// digest listed.
			if d != nil && d.PreviousDigestS3Object != nil && d.PreviousDigestS3Bucket != nil {
				if t, okT := digestKeyTime(*d.PreviousDigestS3Object); okT && !t.Before(start) {
					key, curBucket = *d.PreviousDigestS3Object, *d.PreviousDigestS3Bucket
					continue
				}
			}
			key, ok = next(key)
			curBucket = bucket
			continue
		}
		v.status("Digest file", curBucket, key, "valid")
		v.validDigests++
		if v.foundStart.IsZero() || d.DigestStartTime.Before(v.foundStart) {
			v.foundStart = d.DigestStartTime.Time
		}
		if d.DigestEndTime.After(v.foundEnd) {
			v.foundEnd = d.DigestEndTime.Time
		}
		if len(d.LogFiles) == 0 {
			fmt.Fprintf(out, "No log files were delivered by CloudTrail between %s and %s\n",
				d.DigestStartTime.UTC().Format(TimeFormat), d.DigestEndTime.UTC().Format(TimeFormat))
		}
		for _, lf := range d.LogFiles {
			st, err := v.logFile(lf)
			if err != nil {
				return false, err
			}
			if st == "" {
				v.status("Log file", lf.S3Bucket, lf.S3Object, "valid")
				v.validLogs++
			} else {
				v.status("Log file", lf.S3Bucket, lf.S3Object, "INVALID: "+st)
				v.badLogs++
			}
		}
		if d.DigestStartTime.Before(start) {
			break
		}
		if d.PreviousDigestS3Object == nil || d.PreviousDigestS3Bucket == nil {
			key, ok = next(key)
			curBucket = bucket
			continue
		}
		prevKey := *d.PreviousDigestS3Object
		if t, okT := digestKeyTime(prevKey); okT && t.Before(start) {
			break
		}
		key, curBucket = prevKey, *d.PreviousDigestS3Bucket
	}
	v.summary(start, end)
	return v.badDigests == 0 && v.badLogs == 0, nil
}

// listDigests lists the digest keys ending in [start, end], in key order
// (which is time order), without backfill digests.
func listDigests(ctx context.Context, store objectstore.Store, bucket, prefix string, start, end time.Time) ([]string, error) {
	var keys []string
	from := prefix + start.Format("2006/01/02/")
	err := store.List(ctx, bucket, prefix, "", func(o objectstore.Object) error {
		if o.Key < from {
			return nil
		}
		if strings.HasSuffix(o.Key, "_backfill.json.gz") {
			return nil
		}
		t, ok := digestKeyTime(o.Key)
		if !ok || t.Before(start) || t.After(end) {
			return nil
		}
		keys = append(keys, o.Key)
		return nil
	})
	if errors.Is(err, objectstore.ErrNoSuchBucket) {
		return nil, err
	}
	sort.Strings(keys)
	return keys, err
}

// digest loads and checks one digest; status is "" when valid. A digest
// whose signature fails is returned too, for its link.
func (v *validator) digest(bucket, key string) (*Digest, string, error) {
	gz, err := v.store.Get(v.ctx, bucket, key)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, "not found", nil
	}
	if err != nil {
		return nil, "", err
	}
	meta, err := objectstore.Head(v.ctx, v.store, bucket, key)
	if errors.Is(err, objectstore.ErrNotFound) {
		return nil, "not found", nil
	}
	if err != nil {
		return nil, "", err
	}
	raw, err := gunzip(gz)
	if err != nil {
		return nil, "invalid format", nil
	}
	d, ok := parseDigest(raw)
	if !ok {
		return nil, "invalid format", nil
	}
	if d.DigestS3Bucket != bucket || d.DigestS3Object != key {
		return nil, "has been moved from its original location", nil
	}
	pk := v.keys[d.DigestPublicKeyFingerprint]
	if pk == nil {
		return nil, fmt.Sprintf("public key not found in region %s for fingerprint %s", v.region, d.DigestPublicKeyFingerprint), nil
	}
	sig, err := hex.DecodeString(meta.UserMetadata[MetaSignature])
	if err != nil || len(sig) == 0 {
		return d, "signature verification failed", nil
	}
	h := sha256.Sum256([]byte(SigningString(d, raw)))
	if rsa.VerifyPKCS1v15(pk, crypto.SHA256, h[:], sig) != nil {
		return d, "signature verification failed", nil
	}
	return d, "", nil
}

// parseDigest decodes a digest's uncompressed bytes and checks the keys
// validate-logs requires.
func parseDigest(raw []byte) (*Digest, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return nil, false
	}
	for _, k := range []string{"digestStartTime", "digestEndTime", "digestS3Bucket", "digestS3Object",
		"digestPublicKeyFingerprint", "digestSignatureAlgorithm", "logFiles"} {
		if _, ok := m[k]; !ok {
			return nil, false
		}
	}
	var d Digest
	if json.Unmarshal(raw, &d) != nil || d.DigestEndTime.IsZero() || d.DigestStartTime.IsZero() {
		return nil, false
	}
	if d.DigestSignatureAlgorithm != SignatureAlgorithm {
		return nil, false
	}
	return &d, true
}

// logFile checks one log file; status is "" when valid.
func (v *validator) logFile(lf LogFile) (string, error) {
	gz, err := v.store.Get(v.ctx, lf.S3Bucket, lf.S3Object)
	if errors.Is(err, objectstore.ErrNotFound) || errors.Is(err, objectstore.ErrNoSuchBucket) || errors.Is(err, objectstore.ErrInvalidKey) {
		return "not found", nil
	}
	if err != nil {
		return "", err
	}
	raw, err := gunzip(gz)
	if err != nil {
		return "invalid format", nil
	}
	h := sha256.Sum256(raw)
	if !strings.EqualFold(hex.EncodeToString(h[:]), lf.HashValue) {
		return "hash value doesn't match", nil
	}
	return "", nil
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(io.LimitReader(zr, 1<<30))
}

func (v *validator) status(kind, bucket, key, status string) {
	fmt.Fprintf(v.out, "%s\ts3://%s/%s\t%s\n", kind, bucket, key, status)
}

// summary writes validate-logs' summary.
func (v *validator) summary(start, end time.Time) {
	fmt.Fprintf(v.out, "\nResults requested for %s to %s\n", start.Format(TimeFormat), end.Format(TimeFormat))
	if v.validDigests+v.badDigests == 0 {
		fmt.Fprint(v.out, "No digests found\n")
		return
	}
	if v.foundStart.IsZero() {
		fmt.Fprint(v.out, "No valid digests found in range\n")
	} else {
		fmt.Fprintf(v.out, "Results found for %s to %s:\n", v.foundStart.UTC().Format(TimeFormat), v.foundEnd.UTC().Format(TimeFormat))
	}
	ratio := func(valid, invalid int, name string) {
		total := valid + invalid
		if total == 0 {
			return
		}
		fmt.Fprintf(v.out, "\n%d/%d %s files valid", valid, total, name)
		if invalid > 0 {
			fmt.Fprintf(v.out, ", %d/%d %s files INVALID", invalid, total, name)
		}
	}
	ratio(v.validDigests, v.badDigests, "digest")
	ratio(v.validLogs, v.badLogs, "log")
	fmt.Fprint(v.out, "\n\n")
}
