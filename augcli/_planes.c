/* augcli._planes: JPEG <-> YCbCr 4:2:0 planes through libjpeg(-turbo)'s raw-data interface,
 * and a bilinear warp of one 8-bit plane.
 *
 * Decoding to planes skips chroma upsampling and the YCbCr->BGR conversion; encoding from
 * planes skips the BGR->YCbCr conversion and chroma downsampling. The image pipeline uses it
 * for JPEG -> JPEG jobs whose steps can all run on planes (see transforms/image/planar.py).
 * Optional: when this module cannot be built, augcli uses OpenCV alone.
 *
 *   decode(data, denom=1) -> (width, height, y, y_stride, cb, cr, c_stride, h_div, v_div) or None
 *       denom 1, 2, 4 or 8: libjpeg's scaled IDCT (scale_num / scale_denom = 1 / denom), so
 *       width = ceil(image width / denom), and so on; a reduced decode may give chroma at the
 *       luma's resolution (libjpeg scales chroma up in the IDCT): h_div, v_div say so.
 *       Bytearrays padded to whole MCUs, rows y_stride / c_stride bytes apart; cb and cr
 *       hold ceil(height / v_div) x ceil(width / h_div) samples: h_div, v_div are 2, 2 for
 *       4:2:0 chroma, 2, 1 for 4:2:2, 1, 1 for 4:4:4 (and 1, 2 for 4:4:0).
 *       None when the file is not a 3-component YCbCr JPEG of one of those samplings, or
 *       when libjpeg reports an error or even a warning (corrupt data): the caller then
 *       decodes it the ordinary way, which also gives the ordinary errors.
 *   decode_region(data, denom, x, y, w, h) -> (bytes, x0, width, channels) or None
 *       A window of the 1/denom decode, BGR or grey (libjpeg-turbo crop + skip; see below).
 *   encode(y, cb, cr, width, height, quality) -> bytes
 *       y: height x width bytes, cb and cr: ceil(height/2) x ceil(width/2) bytes, all
 *       C-contiguous. Baseline JPEG, 4:2:0, Huffman tables and quality scaling as
 *       OpenCV's imencode writes them (jpeg_set_defaults + jpeg_set_quality).
 *   warp(src, inv, out, simd=True)
 *       out[y, x] = src sampled bilinearly at inv @ (x, y, 1); src and out 2-D uint8 arrays
 *       (rows may be strided, out's must be contiguous), inv the 6 numbers of a 2x3 matrix.
 *       Coordinates in 16.16 fixed point, interpolation weights in 1/256 pixel, all integer:
 *       the AVX2 path (8 pixels a step, two gathers) and the portable path give the same
 *       bytes. Samples are clamped into the image; the caller pads src (reflect, wrap, edge
 *       or constant, as the fill mode says) so that no sample needs it. ~1.8x faster than
 *       OpenCV's warpAffine on the same padded plane (which is itself 1.3-2x faster than
 *       OpenCV with a reflect border: it samples near-border pixels one at a time).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <math.h>
#include <stdint.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

struct err_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void on_error(j_common_ptr cinfo) { longjmp(((struct err_mgr *)cinfo->err)->jump, 1); }

static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0) cinfo->err->num_warnings++; /* corrupt-data warnings: counted, not printed */
}

#if JPEG_LIB_VERSION >= 70
#define H_SCALED(c) ((c)->DCT_h_scaled_size)
#define V_SCALED(c) ((c)->DCT_v_scaled_size)
#else
#define H_SCALED(c) ((c)->DCT_scaled_size)
#define V_SCALED(c) ((c)->DCT_scaled_size)
#endif

static PyObject *decode(PyObject *self, PyObject *args) {
    Py_buffer in;
    int denom = 1;
    if (!PyArg_ParseTuple(args, "y*|i", &in, &denom)) return NULL;
    if (denom != 1 && denom != 2 && denom != 4 && denom != 8) {
        PyBuffer_Release(&in);
        PyErr_SetString(PyExc_ValueError, "denom must be 1, 2, 4 or 8");
        return NULL;
    }

    struct jpeg_decompress_struct cinfo;
    struct err_mgr jerr;
    PyObject *volatile ybuf = NULL, *volatile cbbuf = NULL, *volatile crbuf = NULL;
    PyObject *result = NULL;

    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        Py_XDECREF(ybuf);
        Py_XDECREF(cbbuf);
        Py_XDECREF(crbuf);
        PyBuffer_Release(&in);
        if (PyErr_Occurred()) return NULL; /* out of memory while allocating planes */
        Py_RETURN_NONE;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)in.buf, (unsigned long)in.len);
    jpeg_read_header(&cinfo, TRUE);
    jpeg_component_info *c = cinfo.comp_info;
    const int hy = c[0].h_samp_factor, vy = c[0].v_samp_factor; /* luma: 1 or 2 chroma samples wide/high */
    if (cinfo.num_components != 3 || cinfo.jpeg_color_space != JCS_YCbCr || hy < 1 || hy > 2 || vy < 1 ||
        vy > 2 || c[1].h_samp_factor != 1 || c[1].v_samp_factor != 1 || c[2].h_samp_factor != 1 ||
        c[2].v_samp_factor != 1 || jerr.pub.num_warnings) {
        longjmp(jerr.jump, 1);
    }
    cinfo.raw_data_out = TRUE;
    cinfo.out_color_space = JCS_YCbCr;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)denom;
    jpeg_start_decompress(&cinfo);

    /* an MCU row: vy * sy luma rows and sc chroma rows; an MCU: hy * sx luma columns, cx chroma
       (sx, sy, cx, sc: the components' scaled block sizes, 8 / denom or more for chroma) */
    const int sx = H_SCALED(&c[0]), sy = V_SCALED(&c[0]), cx = H_SCALED(&c[1]), sc = V_SCALED(&c[1]);
    const int lines = vy * sy, clines = sc;
    const int hd = (hy * sx) % cx ? 0 : (hy * sx) / cx, vd = lines % clines ? 0 : lines / clines;
    if (hd < 1 || hd > 2 || vd < 1 || vd > 2 || lines > 16 || clines > 8 || cx != H_SCALED(&c[2]) ||
        sc != V_SCALED(&c[2])) {
        longjmp(jerr.jump, 1);
    }
    const size_t mcu_rows = (cinfo.image_height + 8 * vy - 1) / (8 * vy);
    const size_t mcu_cols = (cinfo.image_width + 8 * hy - 1) / (8 * hy);
    const size_t ystride = mcu_cols * hy * sx, cstride = mcu_cols * cx;
    ybuf = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(ystride * mcu_rows * lines));
    cbbuf = ybuf ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cstride * mcu_rows * clines)) : NULL;
    crbuf = cbbuf ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cstride * mcu_rows * clines)) : NULL;
    if (!crbuf) longjmp(jerr.jump, 1);
    unsigned char *y = (unsigned char *)PyByteArray_AS_STRING(ybuf);
    unsigned char *cb = (unsigned char *)PyByteArray_AS_STRING(cbbuf);
    unsigned char *cr = (unsigned char *)PyByteArray_AS_STRING(crbuf);

    JSAMPROW yrows[16], cbrows[8], crrows[8];
    JSAMPARRAY planes[3] = {yrows, cbrows, crrows};
    for (size_t r = 0; r < mcu_rows; r++) {
        for (int i = 0; i < lines; i++) yrows[i] = y + (r * lines + i) * ystride;
        for (int i = 0; i < clines; i++) {
            cbrows[i] = cb + (r * clines + i) * cstride;
            crrows[i] = cr + (r * clines + i) * cstride;
        }
        if (jpeg_read_raw_data(&cinfo, planes, (JDIMENSION)lines) != (JDIMENSION)lines) longjmp(jerr.jump, 1);
    }
    jpeg_finish_decompress(&cinfo);
    if (jerr.pub.num_warnings) longjmp(jerr.jump, 1);
    const unsigned int width = cinfo.output_width, height = cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    PyBuffer_Release(&in);

    result = Py_BuildValue("IIOnOOnii", width, height, ybuf, (Py_ssize_t)ystride, cbbuf, crbuf,
                           (Py_ssize_t)cstride, hd, vd);
    Py_DECREF(ybuf);
    Py_DECREF(cbbuf);
    Py_DECREF(crbuf);
    return result;
}

/* Copy rows row0.. of a w-wide, h-high plane into a block `bw` wide and `brows` high,
   repeating the last column and the last row (as libjpeg pads BGR input). */
static void fill_block(unsigned char *dst, size_t bw, int brows, const unsigned char *src,
                       size_t w, size_t h, size_t row0) {
    for (int i = 0; i < brows; i++) {
        size_t r = row0 + (size_t)i < h ? row0 + (size_t)i : h - 1;
        unsigned char *d = dst + (size_t)i * bw;
        memcpy(d, src + r * w, w);
        if (bw > w) memset(d + w, d[w - 1], bw - w);
    }
}

static PyObject *encode(PyObject *self, PyObject *args) {
    Py_buffer yb, cbb, crb;
    unsigned int width, height;
    int quality;
    if (!PyArg_ParseTuple(args, "y*y*y*IIi", &yb, &cbb, &crb, &width, &height, &quality)) return NULL;

    const size_t w = width, h = height, cw = (w + 1) / 2, ch = (h + 1) / 2;
    PyObject *result = NULL;
    if (w == 0 || h == 0 || quality < 1 || quality > 100 || (size_t)yb.len != w * h ||
        (size_t)cbb.len != cw * ch || (size_t)crb.len != cw * ch || !PyBuffer_IsContiguous(&yb, 'C') ||
        !PyBuffer_IsContiguous(&cbb, 'C') || !PyBuffer_IsContiguous(&crb, 'C')) {
        PyErr_SetString(PyExc_ValueError, "encode: planes do not match width and height");
        goto release;
    }

    const size_t mcu_cols = (w + 15) / 16, bw = mcu_cols * 16, cbw = mcu_cols * 8;
    unsigned char *block = malloc(bw * 16 + 2 * cbw * 8);
    if (!block) {
        PyErr_NoMemory();
        goto release;
    }
    unsigned char *yblk = block, *cbblk = block + bw * 16, *crblk = cbblk + cbw * 8;
    JSAMPROW yrows[16], cbrows[8], crrows[8];
    JSAMPARRAY planes[3] = {yrows, cbrows, crrows};
    for (int i = 0; i < 16; i++) yrows[i] = yblk + i * bw;
    for (int i = 0; i < 8; i++) {
        cbrows[i] = cbblk + i * cbw;
        crrows[i] = crblk + i * cbw;
    }

    struct jpeg_compress_struct cinfo;
    struct err_mgr jerr;
    unsigned char *volatile out = NULL;
    unsigned long outsize = 0;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
    if (setjmp(jerr.jump)) {
        char msg[JMSG_LENGTH_MAX];
        (*cinfo.err->format_message)((j_common_ptr)&cinfo, msg);
        jpeg_destroy_compress(&cinfo);
        free(out);
        free(block);
        PyErr_Format(PyExc_ValueError, "JPEG encoder: %s", msg);
        goto release;
    }
    jpeg_create_compress(&cinfo);
    jpeg_mem_dest(&cinfo, (unsigned char **)&out, &outsize);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_YCbCr;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    cinfo.comp_info[0].h_samp_factor = cinfo.comp_info[0].v_samp_factor = 2;
    cinfo.comp_info[1].h_samp_factor = cinfo.comp_info[1].v_samp_factor = 1;
    cinfo.comp_info[2].h_samp_factor = cinfo.comp_info[2].v_samp_factor = 1;
    cinfo.raw_data_in = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    for (size_t r = 0; cinfo.next_scanline < cinfo.image_height; r++) {
        fill_block(yblk, bw, 16, yb.buf, w, h, r * 16);
        fill_block(cbblk, cbw, 8, cbb.buf, cw, ch, r * 8);
        fill_block(crblk, cbw, 8, crb.buf, cw, ch, r * 8);
        jpeg_write_raw_data(&cinfo, planes, 16);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(block);
    result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)outsize);
    free(out);
release:
    PyBuffer_Release(&yb);
    PyBuffer_Release(&cbb);
    PyBuffer_Release(&crb);
    return result;
}

/* ---------------------------------------------------------------------------------------- */
/* warp                                                                                      */
/* ---------------------------------------------------------------------------------------- */
struct plane {
    const uint8_t *src;
    long stride;
    int W, H;
};

static inline uint8_t sample(const struct plane *p, int32_t X, int32_t Y) {
    int ix = X >> 16, iy = Y >> 16; /* arithmetic shifts: floor for negative coordinates */
    const int fx = (X >> 8) & 255, fy = (Y >> 8) & 255;
    ix = ix < 0 ? 0 : ix > p->W - 2 ? p->W - 2 : ix;
    iy = iy < 0 ? 0 : iy > p->H - 2 ? p->H - 2 : iy;
    const uint8_t *q = p->src + (long)iy * p->stride + ix;
    const int32_t top = q[0] * 256 + (q[1] - q[0]) * fx;
    const int32_t bot = q[p->stride] * 256 + (q[p->stride + 1] - q[p->stride]) * fx;
    return (uint8_t)((top * 256 + (bot - top) * fy + 32768) >> 16);
}

/* Coordinates wrap in 32 bits in both paths (the caller keeps them far from wrapping). */
static inline int32_t coord(int64_t s, int32_t d, int x) {
    return (int32_t)((uint32_t)s + (uint32_t)d * (uint32_t)x);
}

static void row_scalar(const struct plane *p, int64_t sx, int64_t sy, int32_t dx, int32_t dy, uint8_t *out,
                       int x0, int x1) {
    for (int x = x0; x < x1; x++) out[x] = sample(p, coord(sx, dx, x), coord(sy, dy, x));
}

#ifdef HAVE_X86
__attribute__((target("avx2"))) static void row_avx2(const struct plane *p, int64_t sx, int64_t sy, int32_t dx,
                                                     int32_t dy, uint8_t *out, int w) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i step_x = _mm256_mullo_epi32(lane, _mm256_set1_epi32(dx));
    const __m256i step_y = _mm256_mullo_epi32(lane, _mm256_set1_epi32(dy));
    const __m256i zero = _mm256_setzero_si256(), m255 = _mm256_set1_epi32(255);
    const __m256i wmax = _mm256_set1_epi32(p->W - 2), hmax = _mm256_set1_epi32(p->H - 2);
    const __m256i stride = _mm256_set1_epi32((int32_t)p->stride), half = _mm256_set1_epi32(32768);
    /* row iy: the 4 bytes from (iy, ix); row iy + 1: the 4 bytes ending at (iy + 1, ix + 1):
       with ix <= W - 2 and iy <= H - 2 neither load leaves the image */
    const int *top_row = (const int *)p->src, *bot_row = (const int *)(p->src + p->stride - 2);
    int x = 0;
    for (; x + 8 <= w; x += 8) {
        const __m256i X = _mm256_add_epi32(_mm256_set1_epi32(coord(sx, dx, x)), step_x);
        const __m256i Y = _mm256_add_epi32(_mm256_set1_epi32(coord(sy, dy, x)), step_y);
        const __m256i ix = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(X, 16), zero), wmax);
        const __m256i iy = _mm256_min_epi32(_mm256_max_epi32(_mm256_srai_epi32(Y, 16), zero), hmax);
        const __m256i fx = _mm256_and_si256(_mm256_srai_epi32(X, 8), m255);
        const __m256i fy = _mm256_and_si256(_mm256_srai_epi32(Y, 8), m255);
        const __m256i off = _mm256_add_epi32(_mm256_mullo_epi32(iy, stride), ix);
        const __m256i g0 = _mm256_i32gather_epi32(top_row, off, 1);
        const __m256i g1 = _mm256_i32gather_epi32(bot_row, off, 1);
        const __m256i p00 = _mm256_and_si256(g0, m255), p01 = _mm256_and_si256(_mm256_srli_epi32(g0, 8), m255);
        const __m256i p10 = _mm256_and_si256(_mm256_srli_epi32(g1, 16), m255), p11 = _mm256_srli_epi32(g1, 24);
        const __m256i top = _mm256_add_epi32(_mm256_slli_epi32(p00, 8),
                                             _mm256_mullo_epi32(_mm256_sub_epi32(p01, p00), fx));
        const __m256i bot = _mm256_add_epi32(_mm256_slli_epi32(p10, 8),
                                             _mm256_mullo_epi32(_mm256_sub_epi32(p11, p10), fx));
        const __m256i v = _mm256_srai_epi32(
            _mm256_add_epi32(_mm256_add_epi32(_mm256_slli_epi32(top, 8),
                                              _mm256_mullo_epi32(_mm256_sub_epi32(bot, top), fy)), half), 16);
        const __m256i b8 = _mm256_packus_epi16(_mm256_packus_epi32(v, v), zero); /* bytes 0-3 | 4-7 */
        const uint32_t lo = (uint32_t)_mm256_extract_epi32(b8, 0), hi = (uint32_t)_mm256_extract_epi32(b8, 4);
        memcpy(out + x, &lo, 4);
        memcpy(out + x + 4, &hi, 4);
    }
    row_scalar(p, sx, sy, dx, dy, out, x, w);
}
#endif

static PyObject *warp(PyObject *self, PyObject *args, PyObject *kw) {
    static char *names[] = {"src", "inv", "out", "simd", NULL};
    PyObject *src_obj, *out_obj;
    double m[6];
    int simd = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O(dddddd)O|p", names, &src_obj, &m[0], &m[1], &m[2], &m[3], &m[4],
                                     &m[5], &out_obj, &simd))
        return NULL;
    Py_buffer src, out;
    if (PyObject_GetBuffer(src_obj, &src, PyBUF_STRIDED_RO) < 0) return NULL;
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_STRIDED) < 0) {
        PyBuffer_Release(&src);
        return NULL;
    }
    PyObject *result = NULL;
    const double lim = 30000.0; /* 16.16 coordinates of samples and steps stay far from wrapping */
    if (src.ndim != 2 || out.ndim != 2 || src.itemsize != 1 || out.itemsize != 1 || src.strides[1] != 1 ||
        out.strides[1] != 1 || src.shape[0] < 2 || src.shape[1] < 2 || src.shape[0] > lim || src.shape[1] > lim ||
        out.shape[0] > lim || out.shape[1] > lim || fabs(m[0]) > 64 || fabs(m[3]) > 64) {
        PyErr_SetString(PyExc_ValueError, "warp: src and out must be 2-D uint8 planes (2 to 30000 pixels a side)");
        goto done;
    }
    const struct plane p = {(const uint8_t *)src.buf, (long)src.strides[0], (int)src.shape[1], (int)src.shape[0]};
    const int w = (int)out.shape[1], h = (int)out.shape[0];
    const int32_t dx = (int32_t)llround(m[0] * 65536.0), dy = (int32_t)llround(m[3] * 65536.0);
#ifdef HAVE_X86
    simd = simd && __builtin_cpu_supports("avx2");
#else
    simd = 0;
#endif
    Py_BEGIN_ALLOW_THREADS
    for (int y = 0; y < h; y++) {
        /* each row from its own start (no drift); a coordinate far outside is clamped anyway */
        double fx = (m[1] * y + m[2]) * 65536.0, fy = (m[4] * y + m[5]) * 65536.0;
        fx = fx < -2e9 ? -2e9 : fx > 2e9 ? 2e9 : fx;
        fy = fy < -2e9 ? -2e9 : fy > 2e9 ? 2e9 : fy;
        const int64_t sx = llround(fx), sy = llround(fy);
        uint8_t *row = (uint8_t *)out.buf + (long)y * out.strides[0];
#ifdef HAVE_X86
        if (simd) {
            row_avx2(&p, sx, sy, dx, dy, row, w);
            continue;
        }
#endif
        row_scalar(&p, sx, sy, dx, dy, row, 0, w);
    }
    Py_END_ALLOW_THREADS
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&src);
    PyBuffer_Release(&out);
    return result;
}

/* decode_region(data, denom, x, y, w, h): rows y .. y + h - 1 of the 1/denom decode, columns x ..
   x + w - 1 widened to whole iMCU columns (jpeg_crop_scanline), BGR (3 components) or grey (1):
   libjpeg-turbo still entropy-decodes every block, but runs the IDCT, upsampling and colour
   conversion only inside the window (jpeg_skip_scanlines above and below it).
   -> (bytes, x0, width, channels) with the window's rows `width * channels` bytes apart, or None. */
static PyObject *decode_region(PyObject *self, PyObject *args) {
#if defined(JCS_EXTENSIONS) && JPEG_LIB_VERSION >= 62
    Py_buffer in;
    int denom, x, y, w, h;
    if (!PyArg_ParseTuple(args, "y*iiiii", &in, &denom, &x, &y, &w, &h)) return NULL;
    struct jpeg_decompress_struct cinfo;
    struct err_mgr jerr;
    PyObject *volatile buf = NULL;
    cinfo.err = jpeg_std_error(&jerr.pub);
    jerr.pub.error_exit = on_error;
    jerr.pub.emit_message = on_message;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        Py_XDECREF(buf);
        PyBuffer_Release(&in);
        if (PyErr_Occurred()) return NULL;
        Py_RETURN_NONE;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, (const unsigned char *)in.buf, (unsigned long)in.len);
    jpeg_read_header(&cinfo, TRUE);
    const int grey = cinfo.num_components == 1;
    if ((!grey && (cinfo.num_components != 3 || cinfo.jpeg_color_space != JCS_YCbCr)) ||
        (denom != 1 && denom != 2 && denom != 4 && denom != 8) || jerr.pub.num_warnings) {
        longjmp(jerr.jump, 1);
    }
    cinfo.out_color_space = grey ? JCS_GRAYSCALE : JCS_EXT_BGR;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)denom;
    jpeg_start_decompress(&cinfo);
    if (x < 0 || y < 0 || w < 1 || h < 1 || (JDIMENSION)(x + w) > cinfo.output_width ||
        (JDIMENSION)(y + h) > cinfo.output_height) {
        longjmp(jerr.jump, 1);
    }
    JDIMENSION x0 = (JDIMENSION)x, width = (JDIMENSION)w;
    if (x0 > 0 || width < cinfo.output_width) jpeg_crop_scanline(&cinfo, &x0, &width);
    const int ch = grey ? 1 : 3;
    const size_t stride = (size_t)width * ch;
    buf = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(stride * (size_t)h));
    if (!buf) longjmp(jerr.jump, 1);
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(buf);
    if (y > 0 && jpeg_skip_scanlines(&cinfo, (JDIMENSION)y) != (JDIMENSION)y) longjmp(jerr.jump, 1);
    for (int i = 0; i < h;) {
        JSAMPROW row = out + (size_t)i * stride;
        JDIMENSION got = jpeg_read_scanlines(&cinfo, &row, 1);
        if (got != 1) longjmp(jerr.jump, 1);
        i += 1;
    }
    if (jerr.pub.num_warnings) longjmp(jerr.jump, 1);
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    PyBuffer_Release(&in);
    PyObject *result = Py_BuildValue("OIIi", buf, x0, width, ch);
    Py_DECREF(buf);
    return result;
#else
    Py_RETURN_NONE;
#endif
}

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, "JPEG bytes -> (w, h, y, y_stride, cb, cr, c_stride), or None"},
    {"decode_region", decode_region, METH_VARARGS, "(data, denom, x, y, w, h) -> (bgr or grey bytes, x0, width, channels)"},
    {"encode", encode, METH_VARARGS, "(y, cb, cr, w, h, quality) -> JPEG bytes (4:2:0)"},
    {"warp", (PyCFunction)(void (*)(void))warp, METH_VARARGS | METH_KEYWORDS,
     "warp(src, inv, out, simd=True): out = src sampled bilinearly at inv @ (x, y, 1)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_planes", NULL, -1, methods};

PyMODINIT_FUNC PyInit__planes(void) {
    PyObject *m = PyModule_Create(&module);
    if (m) PyModule_AddIntConstant(m, "LIBJPEG_VERSION", JPEG_LIB_VERSION);
    return m;
}
