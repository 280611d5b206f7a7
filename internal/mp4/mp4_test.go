package mp4

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"
)

// testTrack is a track with a syntactically plausible SPS (profile 66,
// level 40) and PPS; the container does not look inside them.
var testTrack = Track{Width: 1280, Height: 720, Timescale: 12288, SampleDuration: 512,
	SPS: []byte{0x67, 66, 0xc0, 40, 0x01}, PPS: []byte{0x68, 0xce}}

func samples(n, every int) []Sample {
	s := make([]Sample, n)
	for i := range s {
		s[i] = Sample{Data: []byte{0, 0, 0, 2, 0x65, byte(i)}, Sync: i%every == 0}
	}
	return s
}

func TestWriteProbe(t *testing.T) {
	var buf bytes.Buffer
	n, err := Write(&buf, testTrack, samples(144, 144))
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("reported %d bytes, wrote %d", n, buf.Len())
	}
	b := buf.Bytes()
	// ftyp first, then mdat holding the samples in order, then moov.
	if string(b[4:8]) != "ftyp" || string(b[8:12]) != "isom" {
		t.Fatalf("starts %q", b[:12])
	}
	ftyp := int(binary.BigEndian.Uint32(b))
	if string(b[ftyp+4:ftyp+8]) != "mdat" || binary.BigEndian.Uint32(b[ftyp:]) != 8+144*6 {
		t.Fatal("mdat does not follow ftyp with the samples")
	}
	if !bytes.Equal(b[ftyp+8:ftyp+14], []byte{0, 0, 0, 2, 0x65, 0}) {
		t.Fatal("first sample is not at the start of mdat")
	}
	info, err := Probe(b)
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Brand: "isom", Codec: "avc1", Width: 1280, Height: 720, Timescale: 12288, SampleDuration: 512,
		Samples: 144, SyncSamples: 1, MediaDuration: 144 * 512}
	if info != want {
		t.Fatalf("info %+v, want %+v", info, want)
	}
	if info.FPS() != 24 || info.Duration() != 6*time.Second {
		t.Fatalf("fps %v duration %v", info.FPS(), info.Duration())
	}
	// avcC carries the SPS's profile, constraints and level.
	i := bytes.Index(b, []byte("avcC"))
	if i < 0 || !bytes.Equal(b[i+4:i+8], []byte{1, 66, 0xc0, 40}) {
		t.Fatal("avcC header does not echo the SPS")
	}
	// Same input, same bytes: no creation times.
	var again bytes.Buffer
	if _, err := Write(&again, testTrack, samples(144, 144)); err != nil || !bytes.Equal(again.Bytes(), b) {
		t.Fatal("output is not deterministic")
	}
}

func TestAllSyncHasNoStss(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, testTrack, samples(10, 1)); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("stss")) {
		t.Fatal("stss written when every sample is a sync sample")
	}
	info, err := Probe(buf.Bytes())
	if err != nil || info.SyncSamples != 10 {
		t.Fatalf("%+v %v", info, err)
	}
}

func TestWriteRefuses(t *testing.T) {
	bad := testTrack
	bad.Width = 0
	for _, tc := range []struct {
		tr Track
		s  []Sample
	}{{bad, samples(1, 1)}, {testTrack, nil}, {Track{Width: 16, Height: 16, Timescale: 1, SampleDuration: 1}, samples(1, 1)}} {
		if _, err := Write(&bytes.Buffer{}, tc.tr, tc.s); err == nil {
			t.Errorf("accepted %+v with %d samples", tc.tr, len(tc.s))
		}
	}
}

func TestProbeRefusesTruncated(t *testing.T) {
	var buf bytes.Buffer
	if _, err := Write(&buf, testTrack, samples(24, 24)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, cut := range []int{0, 7, 40, len(b) / 2, len(b) - 1} {
		if _, err := Probe(b[:cut]); err == nil {
			t.Errorf("a file cut at %d of %d bytes passed", cut, len(b))
		}
	}
}

func FuzzProbe(f *testing.F) {
	var buf bytes.Buffer
	if _, err := Write(&buf, testTrack, samples(3, 2)); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := Probe(b)
		if err == nil && (info.Samples == 0 || info.Codec == "") {
			t.Fatalf("accepted %+v", info)
		}
	})
}
