// Package mp4 writes ISO Base Media File Format (MP4) files holding one
// H.264 (AVC) video track, as the simulator's generated videos need: an
// ftyp box, one mdat box with every sample in decoding order, and a moov box
// at the end (written after the samples, whose sizes it lists). It knows
// nothing of the codec beyond the avcC configuration record: callers hand
// it finished access units in AVCC form (each NAL unit prefixed with its
// 4-byte length) and the SPS and PPS NAL units.
package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Track describes the video track.
type Track struct {
	// Width and Height are the picture size in pixels.
	Width, Height int
	// Timescale is the media's time units per second; SampleDuration the
	// length of every sample in those units (fps = Timescale /
	// SampleDuration).
	Timescale, SampleDuration uint32
	// SPS and PPS are the sequence and picture parameter set NAL units
	// (without start codes or length prefixes); the avcC record carries
	// them, so samples need not repeat them.
	SPS, PPS []byte
}

// Sample is one access unit.
type Sample struct {
	// Data is the access unit in AVCC form: NAL units each preceded by a
	// 4-byte big-endian length.
	Data []byte
	// Sync marks a sample decodable on its own (an IDR picture); the stss
	// box lists them so players can seek.
	Sync bool
}

// movieTimescale is the movie header's time unit (milliseconds), as
// common writers use.
const movieTimescale = 1000

// Write writes a complete MP4 file of one video track to w and returns
// the bytes written.
func Write(w io.Writer, t Track, samples []Sample) (int64, error) {
	if err := t.check(); err != nil {
		return 0, err
	}
	if len(samples) == 0 {
		return 0, errors.New("mp4: no samples")
	}
	var mdatPayload uint64
	for _, s := range samples {
		mdatPayload += uint64(len(s.Data))
	}
	ftyp := ftypBox()
	// A 64-bit mdat header keeps files over 4 GiB valid; chunk offsets
	// then use co64 where needed.
	large := mdatPayload+8 > math.MaxUint32
	mdatHeader := 8
	if large {
		mdatHeader = 16
	}
	firstOffset := uint64(len(ftyp) + mdatHeader)
	moov := moovBox(t, samples, firstOffset)

	cw := &countingWriter{w: w}
	cw.write(ftyp)
	if large {
		h := make([]byte, 16)
		binary.BigEndian.PutUint32(h, 1)
		copy(h[4:], "mdat")
		binary.BigEndian.PutUint64(h[8:], mdatPayload+16)
		cw.write(h)
	} else {
		h := make([]byte, 8)
		binary.BigEndian.PutUint32(h, uint32(mdatPayload+8))
		copy(h[4:], "mdat")
		cw.write(h)
	}
	for _, s := range samples {
		cw.write(s.Data)
	}
	cw.write(moov)
	return cw.n, cw.err
}

func (t Track) check() error {
	switch {
	case t.Width <= 0 || t.Width > 0xffff || t.Height <= 0 || t.Height > 0xffff:
		return fmt.Errorf("mp4: picture size %dx%d out of range", t.Width, t.Height)
	case t.Timescale == 0 || t.SampleDuration == 0:
		return errors.New("mp4: timescale and sample duration must be positive")
	case len(t.SPS) < 4 || len(t.PPS) < 1 || len(t.SPS) > 0xffff || len(t.PPS) > 0xffff:
		return errors.New("mp4: SPS (at least 4 bytes) and PPS are required")
	}
	return nil
}

type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) write(p []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
}

// box is a box under construction: its size is patched in by end.
type box struct{ b []byte }

func (b *box) start(typ string) int {
	at := len(b.b)
	b.b = append(b.b, 0, 0, 0, 0)
	b.b = append(b.b, typ...)
	return at
}

// full starts a full box (version and flags).
func (b *box) full(typ string, version byte, flags uint32) int {
	at := b.start(typ)
	b.u32(uint32(version)<<24 | flags&0xffffff)
	return at
}

func (b *box) end(at int) { binary.BigEndian.PutUint32(b.b[at:], uint32(len(b.b)-at)) }

func (b *box) u8(v byte)    { b.b = append(b.b, v) }
func (b *box) u16(v uint16) { b.b = binary.BigEndian.AppendUint16(b.b, v) }
func (b *box) u32(v uint32) { b.b = binary.BigEndian.AppendUint32(b.b, v) }
func (b *box) u64(v uint64) { b.b = binary.BigEndian.AppendUint64(b.b, v) }
func (b *box) zeros(n int)  { b.b = append(b.b, make([]byte, n)...) }
func (b *box) raw(p []byte) { b.b = append(b.b, p...) }

// matrix is the identity transformation matrix of mvhd and tkhd.
func (b *box) matrix() {
	for _, v := range []uint32{0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000} {
		b.u32(v)
	}
}

func ftypBox() []byte {
	var b box
	at := b.start("ftyp")
	b.raw([]byte("isom"))
	b.u32(0x200)
	for _, brand := range []string{"isom", "iso2", "avc1", "mp41"} {
		b.raw([]byte(brand))
	}
	b.end(at)
	return b.b
}

func moovBox(t Track, samples []Sample, firstOffset uint64) []byte {
	mediaDuration := uint64(len(samples)) * uint64(t.SampleDuration)
	movieDuration := mediaDuration * movieTimescale / uint64(t.Timescale)
	var b box
	moov := b.start("moov")

	mvhd := b.full("mvhd", 1, 0)
	b.u64(0) // creation time: none, so that output is deterministic
	b.u64(0) // modification time
	b.u32(movieTimescale)
	b.u64(movieDuration)
	b.u32(0x10000) // rate 1.0
	b.u16(0x100)   // volume 1.0
	b.zeros(10)
	b.matrix()
	b.zeros(24) // pre_defined
	b.u32(2)    // next track ID
	b.end(mvhd)

	trak := b.start("trak")
	tkhd := b.full("tkhd", 1, 3) // enabled, in movie
	b.u64(0)
	b.u64(0)
	b.u32(1) // track ID
	b.u32(0)
	b.u64(movieDuration)
	b.zeros(8)
	b.u16(0) // layer
	b.u16(0) // alternate group
	b.u16(0) // volume: video
	b.u16(0)
	b.matrix()
	b.u32(uint32(t.Width) << 16)
	b.u32(uint32(t.Height) << 16)
	b.end(tkhd)

	mdia := b.start("mdia")
	mdhd := b.full("mdhd", 1, 0)
	b.u64(0)
	b.u64(0)
	b.u32(t.Timescale)
	b.u64(mediaDuration)
	b.u16(0x55c4) // language "und"
	b.u16(0)
	b.end(mdhd)
	hdlr := b.full("hdlr", 0, 0)
	b.u32(0)
	b.raw([]byte("vide"))
	b.zeros(12)
	b.raw([]byte("VideoHandler\x00"))
	b.end(hdlr)

	minf := b.start("minf")
	vmhd := b.full("vmhd", 0, 1)
	b.zeros(8) // graphics mode, opcolor
	b.end(vmhd)
	dinf := b.start("dinf")
	dref := b.full("dref", 0, 0)
	b.u32(1)
	url := b.full("url ", 0, 1) // media in this file
	b.end(url)
	b.end(dref)
	b.end(dinf)

	stbl := b.start("stbl")
	stsd := b.full("stsd", 0, 0)
	b.u32(1)
	avc1 := b.start("avc1")
	b.zeros(6)
	b.u16(1) // data reference index
	b.zeros(16)
	b.u16(uint16(t.Width))
	b.u16(uint16(t.Height))
	b.u32(0x480000) // 72 dpi
	b.u32(0x480000)
	b.u32(0)
	b.u16(1) // frames per sample
	b.zeros(32)
	b.u16(0x18) // depth
	b.u16(0xffff)
	avcC := b.start("avcC")
	b.u8(1)
	b.u8(t.SPS[1]) // profile
	b.u8(t.SPS[2]) // constraint flags
	b.u8(t.SPS[3]) // level
	b.u8(0xff)     // 4-byte NAL lengths
	b.u8(0xe1)     // one SPS
	b.u16(uint16(len(t.SPS)))
	b.raw(t.SPS)
	b.u8(1)
	b.u16(uint16(len(t.PPS)))
	b.raw(t.PPS)
	b.end(avcC)
	b.end(avc1)
	b.end(stsd)

	stts := b.full("stts", 0, 0)
	b.u32(1)
	b.u32(uint32(len(samples)))
	b.u32(t.SampleDuration)
	b.end(stts)

	var syncs []uint32
	for i, s := range samples {
		if s.Sync {
			syncs = append(syncs, uint32(i+1))
		}
	}
	if len(syncs) < len(samples) {
		stss := b.full("stss", 0, 0)
		b.u32(uint32(len(syncs)))
		for _, n := range syncs {
			b.u32(n)
		}
		b.end(stss)
	}

	// All samples in one chunk, in the order written.
	stsc := b.full("stsc", 0, 0)
	b.u32(1)
	b.u32(1)
	b.u32(uint32(len(samples)))
	b.u32(1)
	b.end(stsc)
	stsz := b.full("stsz", 0, 0)
	b.u32(0)
	b.u32(uint32(len(samples)))
	for _, s := range samples {
		b.u32(uint32(len(s.Data)))
	}
	b.end(stsz)
	if firstOffset > math.MaxUint32 {
		co := b.full("co64", 0, 0)
		b.u32(1)
		b.u64(firstOffset)
		b.end(co)
	} else {
		co := b.full("stco", 0, 0)
		b.u32(1)
		b.u32(uint32(firstOffset))
		b.end(co)
	}
	b.end(stbl)
	b.end(minf)
	b.end(mdia)
	b.end(trak)
	b.end(moov)
	return b.b
}
