package simulator

// A minimal H.264 encoder for the simulator's videos: Constrained
// Baseline profile, CAVLC, every key frame an IDR picture made of I_PCM
// macroblocks (raw 4:2:0 samples, no prediction or transform, so the
// encoder is exact and tiny), every other frame a P picture whose
// macroblocks are all P_Skip (a copy of the previous frame). Each shot of
// a generated video is one still picture held for its length: a decoder
// (browsers, ffmpeg, VLC) sees a standard stream; the cost is size, about
// 1.4 MB per key frame at 1280x720.

// bitWriter writes an RBSP MSB first.
type bitWriter struct {
	buf   []byte
	cur   byte
	nbits uint
}

func (w *bitWriter) bit(b uint32) {
	w.cur = w.cur<<1 | byte(b&1)
	w.nbits++
	if w.nbits == 8 {
		w.buf = append(w.buf, w.cur)
		w.cur, w.nbits = 0, 0
	}
}

func (w *bitWriter) bits(v uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.bit(v >> uint(i))
	}
}

// ue writes an unsigned Exp-Golomb code.
func (w *bitWriter) ue(v uint32) {
	x := v + 1
	n := uint(0)
	for t := x; t > 1; t >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(x, n+1)
}

// se writes a signed Exp-Golomb code.
func (w *bitWriter) se(v int32) {
	if v > 0 {
		w.ue(uint32(2*v - 1))
	} else {
		w.ue(uint32(-2 * v))
	}
}

func (w *bitWriter) aligned() bool { return w.nbits == 0 }

// alignZero pads with zero bits to a byte boundary.
func (w *bitWriter) alignZero() {
	for !w.aligned() {
		w.bit(0)
	}
}

// trailing writes rbsp_trailing_bits.
func (w *bitWriter) trailing() []byte {
	w.bit(1)
	w.alignZero()
	return w.buf
}

// nal wraps an RBSP into a NAL unit: header byte, then the payload with
// emulation prevention bytes (0x03 after two zero bytes when the next
// byte is 0x00-0x03).
func nal(refIdc, typ byte, rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+len(rbsp)/64+1)
	out = append(out, refIdc<<5|typ)
	zeros := 0
	for _, b := range rbsp {
		if zeros >= 2 && b <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, b)
		if b == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}

// h264Stream holds the parameters of one encoded sequence.
type h264Stream struct {
	mbW, mbH int
	// frameNum counts reference frames since the last IDR, modulo 16
	// (log2_max_frame_num = 4); idrID alternates between IDR pictures.
	frameNum uint32
	idrID    uint32
}

const (
	nalSlice = 1
	nalIDR   = 5
	nalSPS   = 7
	nalPPS   = 8

	// h264Level 4.0 admits 1280x720 at 24 fps and the bit rate of I_PCM
	// key frames.
	h264Level = 40
)

func newH264Stream(width, height int) *h264Stream {
	return &h264Stream{mbW: width / 16, mbH: height / 16}
}

// sps is the sequence parameter set.
func (s *h264Stream) sps() []byte {
	var w bitWriter
	w.bits(66, 8)           // profile_idc: Baseline
	w.bits(0b11000000, 8)   // constraint_set0/1: Constrained Baseline
	w.bits(h264Level, 8)    // level_idc
	w.ue(0)                 // seq_parameter_set_id
	w.ue(0)                 // log2_max_frame_num_minus4
	w.ue(2)                 // pic_order_cnt_type 2: output order = decoding order
	w.ue(1)                 // max_num_ref_frames
	w.bit(0)                // gaps_in_frame_num_value_allowed_flag
	w.ue(uint32(s.mbW - 1)) // pic_width_in_mbs_minus1
	w.ue(uint32(s.mbH - 1)) // pic_height_in_map_units_minus1
	w.bit(1)                // frame_mbs_only_flag
	w.bit(1)                // direct_8x8_inference_flag
	w.bit(0)                // frame_cropping_flag
	w.bit(0)                // vui_parameters_present_flag
	return nal(3, nalSPS, w.trailing())
}

// pps is the picture parameter set.
func (s *h264Stream) pps() []byte {
	var w bitWriter
	w.ue(0)  // pic_parameter_set_id
	w.ue(0)  // seq_parameter_set_id
	w.bit(0) // entropy_coding_mode_flag: CAVLC
	w.bit(0) // bottom_field_pic_order_in_frame_present_flag
	w.ue(0)  // num_slice_groups_minus1
	w.ue(0)  // num_ref_idx_l0_default_active_minus1
	w.ue(0)  // num_ref_idx_l1_default_active_minus1
	w.bit(0) // weighted_pred_flag
	w.bits(0, 2)
	w.se(0)  // pic_init_qp_minus26
	w.se(0)  // pic_init_qs_minus26
	w.se(0)  // chroma_qp_index_offset
	w.bit(1) // deblocking_filter_control_present_flag
	w.bit(0) // constrained_intra_pred_flag
	w.bit(0) // redundant_pic_cnt_present_flag
	return nal(3, nalPPS, w.trailing())
}

// idr encodes a key frame from planar 4:2:0 samples (y is width x
// height, cb and cr half that in each direction).
func (s *h264Stream) idr(y, cb, cr []byte) []byte {
	s.frameNum = 0
	width := s.mbW * 16
	var w bitWriter
	w.buf = make([]byte, 0, s.mbW*s.mbH*(384+2)+16)
	w.ue(0)      // first_mb_in_slice
	w.ue(7)      // slice_type: I (all slices)
	w.ue(0)      // pic_parameter_set_id
	w.bits(0, 4) // frame_num
	w.ue(s.idrID)
	w.bit(0) // no_output_of_prior_pics_flag
	w.bit(0) // long_term_reference_flag
	w.se(0)  // slice_qp_delta
	w.ue(1)  // disable_deblocking_filter_idc: off (PCM is exact)
	for my := range s.mbH {
		for mx := range s.mbW {
			w.ue(25) // mb_type I_PCM
			w.alignZero()
			for r := range 16 {
				row := (my*16+r)*width + mx*16
				w.buf = append(w.buf, y[row:row+16]...)
			}
			for _, plane := range [][]byte{cb, cr} {
				for r := range 8 {
					row := (my*8+r)*(width/2) + mx*8
					w.buf = append(w.buf, plane[row:row+8]...)
				}
			}
		}
	}
	s.idrID = (s.idrID + 1) % 2
	return nal(3, nalIDR, w.trailing())
}

// skip encodes a frame that repeats the previous one: a P slice of
// P_Skip macroblocks only.
func (s *h264Stream) skip() []byte {
	s.frameNum = (s.frameNum + 1) % 16
	var w bitWriter
	w.ue(0) // first_mb_in_slice
	w.ue(5) // slice_type: P (all slices)
	w.ue(0) // pic_parameter_set_id
	w.bits(s.frameNum, 4)
	w.bit(0)                    // num_ref_idx_active_override_flag
	w.bit(0)                    // ref_pic_list_modification_flag_l0
	w.bit(0)                    // adaptive_ref_pic_marking_mode_flag
	w.se(0)                     // slice_qp_delta
	w.ue(1)                     // disable_deblocking_filter_idc
	w.ue(uint32(s.mbW * s.mbH)) // mb_skip_run: the whole picture
	return nal(2, nalSlice, w.trailing())
}

// avcc prefixes a NAL unit with its 4-byte length, as MP4 samples carry
// them.
func avcc(n []byte) []byte {
	out := make([]byte, 4+len(n))
	out[0], out[1], out[2], out[3] = byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n))
	copy(out[4:], n)
	return out
}
