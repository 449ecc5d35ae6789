/* augcli._jpeg: JPEG <-> YCbCr 4:2:0 planes through libjpeg(-turbo)'s raw-data interface.
 *
 * Decoding to planes skips chroma upsampling and the YCbCr->BGR conversion; encoding from
 * planes skips the BGR->YCbCr conversion and chroma downsampling. The image pipeline uses it
 * for JPEG -> JPEG jobs whose steps can all run on planes (see transforms/planar.py).
 * Optional: when this module cannot be built, augcli uses OpenCV alone.
 *
 *   decode(data) -> (width, height, y, y_stride, cb, cr, c_stride) or None
 *       Bytearrays padded to whole MCUs, rows y_stride / c_stride bytes apart; cb and cr
 *       hold ceil(height/2) x ceil(width/2) samples. (Separate planes, not interleaved
 *       Cb/Cr: OpenCV's one-channel warp is vectorised, its two-channel warp is not.)
 *       None when the file is not a 3-component YCbCr JPEG with 2x2 luma and 1x1 chroma
 *       sampling, or when libjpeg reports an error or even a warning (corrupt data): the
 *       caller then decodes it the ordinary way, which also gives the ordinary errors.
 *   encode(y, cb, cr, width, height, quality) -> bytes
 *       y: height x width bytes, cb and cr: ceil(height/2) x ceil(width/2) bytes, all
 *       C-contiguous. Baseline JPEG, 4:2:0, Huffman tables and quality scaling as
 *       OpenCV's imencode writes them (jpeg_set_defaults + jpeg_set_quality).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

struct err_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
};

static void on_error(j_common_ptr cinfo) { longjmp(((struct err_mgr *)cinfo->err)->jump, 1); }

static void on_message(j_common_ptr cinfo, int level) {
    if (level < 0) cinfo->err->num_warnings++; /* corrupt-data warnings: counted, not printed */
}

static PyObject *decode(PyObject *self, PyObject *args) {
    Py_buffer in;
    if (!PyArg_ParseTuple(args, "y*", &in)) return NULL;

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
    if (cinfo.num_components != 3 || cinfo.jpeg_color_space != JCS_YCbCr ||
        c[0].h_samp_factor != 2 || c[0].v_samp_factor != 2 || c[1].h_samp_factor != 1 ||
        c[1].v_samp_factor != 1 || c[2].h_samp_factor != 1 || c[2].v_samp_factor != 1 ||
        jerr.pub.num_warnings) {
        longjmp(jerr.jump, 1);
    }
    cinfo.raw_data_out = TRUE;
    cinfo.out_color_space = JCS_YCbCr;
    jpeg_start_decompress(&cinfo);

    const size_t mcu_rows = (cinfo.output_height + 15) / 16, mcu_cols = (cinfo.output_width + 15) / 16;
    const size_t ystride = mcu_cols * 16, cstride = mcu_cols * 8;
    ybuf = PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(ystride * mcu_rows * 16));
    cbbuf = ybuf ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cstride * mcu_rows * 8)) : NULL;
    crbuf = cbbuf ? PyByteArray_FromStringAndSize(NULL, (Py_ssize_t)(cstride * mcu_rows * 8)) : NULL;
    if (!crbuf) longjmp(jerr.jump, 1);
    unsigned char *y = (unsigned char *)PyByteArray_AS_STRING(ybuf);
    unsigned char *cb = (unsigned char *)PyByteArray_AS_STRING(cbbuf);
    unsigned char *cr = (unsigned char *)PyByteArray_AS_STRING(crbuf);

    JSAMPROW yrows[16], cbrows[8], crrows[8];
    JSAMPARRAY planes[3] = {yrows, cbrows, crrows};
    for (size_t r = 0; r < mcu_rows; r++) {
        for (int i = 0; i < 16; i++) yrows[i] = y + (r * 16 + i) * ystride;
        for (int i = 0; i < 8; i++) {
            cbrows[i] = cb + (r * 8 + i) * cstride;
            crrows[i] = cr + (r * 8 + i) * cstride;
        }
        if (jpeg_read_raw_data(&cinfo, planes, 16) != 16) longjmp(jerr.jump, 1);
    }
    jpeg_finish_decompress(&cinfo);
    if (jerr.pub.num_warnings) longjmp(jerr.jump, 1);
    const unsigned int width = cinfo.output_width, height = cinfo.output_height;
    jpeg_destroy_decompress(&cinfo);
    PyBuffer_Release(&in);

    result = Py_BuildValue("IIOnOOn", width, height, ybuf, (Py_ssize_t)ystride, cbbuf, crbuf,
                           (Py_ssize_t)cstride);
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

static PyMethodDef methods[] = {
    {"decode", decode, METH_VARARGS, "JPEG bytes -> (w, h, y, y_stride, cb, cr, c_stride), or None"},
    {"encode", encode, METH_VARARGS, "(y, cb, cr, w, h, quality) -> JPEG bytes (4:2:0)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jpeg", NULL, -1, methods};

PyMODINIT_FUNC PyInit__jpeg(void) {
    PyObject *m = PyModule_Create(&module);
    if (m) PyModule_AddIntConstant(m, "LIBJPEG_VERSION", JPEG_LIB_VERSION);
    return m;
}
