package mp4

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Info is what Probe reads from a file of one video track.
type Info struct {
	// Brand is the ftyp major brand; Codec the sample entry's type
	// ("avc1").
	Brand, Codec string
	// Width and Height are the sample entry's picture size.
	Width, Height int
	// Timescale is the media timescale, SampleDuration the first stts
	// entry's delta, Samples the sample count and SyncSamples how many of
	// them are sync samples (all when there is no stss box).
	Timescale, SampleDuration uint32
	Samples, SyncSamples      int
	// MediaDuration is the mdhd duration in Timescale units.
	MediaDuration uint64
}

// Duration is the track's length.
func (i Info) Duration() time.Duration {
	if i.Timescale == 0 {
		return 0
	}
	return time.Duration(i.MediaDuration) * time.Second / time.Duration(i.Timescale)
}

// FPS is the frame rate (Timescale / SampleDuration).
func (i Info) FPS() float64 {
	if i.SampleDuration == 0 {
		return 0
	}
	return float64(i.Timescale) / float64(i.SampleDuration)
}

// Probe parses the boxes of an MP4 file as Write lays them out (and as
// other writers of one video track do) and checks that every sample lies
// inside the file. It is a structural check for tests and for callers
// that accept MP4 input, not a decoder.
func Probe(b []byte) (Info, error) {
	var info Info
	var sizes []uint32
	var offsets []uint64
	var perChunk uint32
	err := walk(b, func(path string, payload []byte) error {
		switch path {
		case "ftyp":
			if len(payload) < 4 {
				return errors.New("mp4: short ftyp")
			}
			info.Brand = string(payload[:4])
		case "moov/trak/mdia/mdhd":
			if len(payload) < 4 {
				return errors.New("mp4: short mdhd")
			}
			if payload[0] == 1 {
				if len(payload) < 32 {
					return errors.New("mp4: short mdhd")
				}
				info.Timescale = binary.BigEndian.Uint32(payload[20:])
				info.MediaDuration = binary.BigEndian.Uint64(payload[24:])
			} else {
				if len(payload) < 20 {
					return errors.New("mp4: short mdhd")
				}
				info.Timescale = binary.BigEndian.Uint32(payload[12:])
				info.MediaDuration = uint64(binary.BigEndian.Uint32(payload[16:]))
			}
		case "moov/trak/mdia/minf/stbl/stsd":
			if len(payload) < 8+8+78 {
				return errors.New("mp4: short stsd")
			}
			entry := payload[8:]
			info.Codec = string(entry[4:8])
			info.Width = int(binary.BigEndian.Uint16(entry[8+24:]))
			info.Height = int(binary.BigEndian.Uint16(entry[8+26:]))
		case "moov/trak/mdia/minf/stbl/stts":
			if len(payload) < 16 {
				return errors.New("mp4: short stts")
			}
			info.SampleDuration = binary.BigEndian.Uint32(payload[12:])
		case "moov/trak/mdia/minf/stbl/stss":
			if len(payload) < 8 {
				return errors.New("mp4: short stss")
			}
			info.SyncSamples = int(binary.BigEndian.Uint32(payload[4:]))
		case "moov/trak/mdia/minf/stbl/stsc":
			if len(payload) < 20 {
				return errors.New("mp4: short stsc")
			}
			perChunk = binary.BigEndian.Uint32(payload[12:])
		case "moov/trak/mdia/minf/stbl/stsz":
			if len(payload) < 12 {
				return errors.New("mp4: short stsz")
			}
			n := binary.BigEndian.Uint32(payload[8:])
			if uint64(len(payload)) < 12+4*uint64(n) {
				return errors.New("mp4: short stsz")
			}
			info.Samples = int(n)
			for i := range int(n) {
				sizes = append(sizes, binary.BigEndian.Uint32(payload[12+4*i:]))
			}
		case "moov/trak/mdia/minf/stbl/stco", "moov/trak/mdia/minf/stbl/co64":
			if len(payload) < 8 {
				return errors.New("mp4: short chunk offsets")
			}
			n := int(binary.BigEndian.Uint32(payload[4:]))
			width := 4
			if path[len(path)-4:] == "co64" {
				width = 8
			}
			if len(payload) < 8+width*n {
				return errors.New("mp4: short chunk offsets")
			}
			for i := range n {
				if width == 4 {
					offsets = append(offsets, uint64(binary.BigEndian.Uint32(payload[8+4*i:])))
				} else {
					offsets = append(offsets, binary.BigEndian.Uint64(payload[8+8*i:]))
				}
			}
		}
		return nil
	})
	if err != nil {
		return Info{}, err
	}
	if info.Codec == "" || info.Timescale == 0 || info.Samples == 0 {
		return Info{}, errors.New("mp4: no video track")
	}
	if info.SyncSamples == 0 {
		info.SyncSamples = info.Samples
	}
	// Check that the samples lie within the file, chunk by chunk.
	if perChunk == 0 || len(offsets) == 0 {
		return Info{}, errors.New("mp4: no chunks")
	}
	s := 0
	for _, off := range offsets {
		for k := uint32(0); k < perChunk && s < len(sizes); k++ {
			if off+uint64(sizes[s]) > uint64(len(b)) {
				return Info{}, fmt.Errorf("mp4: sample %d lies beyond the end of the file", s+1)
			}
			off += uint64(sizes[s])
			s++
		}
	}
	if s != len(sizes) {
		return Info{}, errors.New("mp4: chunks hold fewer samples than stsz lists")
	}
	return info, nil
}

// containers are the boxes Probe descends into.
var containers = map[string]bool{"moov": true, "trak": true, "mdia": true, "minf": true, "stbl": true}

func walk(b []byte, visit func(path string, payload []byte) error) error {
	var rec func(b []byte, prefix string) error
	rec = func(b []byte, prefix string) error {
		for len(b) > 0 {
			if len(b) < 8 {
				return errors.New("mp4: truncated box header")
			}
			size := uint64(binary.BigEndian.Uint32(b))
			typ := string(b[4:8])
			header := uint64(8)
			switch size {
			case 0:
				size = uint64(len(b))
			case 1:
				if len(b) < 16 {
					return errors.New("mp4: truncated box header")
				}
				size = binary.BigEndian.Uint64(b[8:])
				header = 16
			}
			if size < header || size > uint64(len(b)) {
				return fmt.Errorf("mp4: box %q of size %d does not fit", typ, size)
			}
			payload := b[header:size]
			path := prefix + typ
			if err := visit(path, payload); err != nil {
				return err
			}
			if containers[typ] {
				if err := rec(payload, path+"/"); err != nil {
					return err
				}
			}
			b = b[size:]
		}
		return nil
	}
	return rec(b, "")
}
