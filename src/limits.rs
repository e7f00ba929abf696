//! [`Limits`]: every bound a render is checked against, explicit and
//! configurable.

/// Size limits enforced before any allocation of the size they bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest canvas, in pixels (width x height). Default 16384 x 16384, the
    /// format's own bound.
    pub max_canvas_pixels: u64,
    /// Largest decoded image, in pixels. Default 128 megapixels (512 MiB as
    /// RGBA8); larger files are refused from their header, before decoding.
    pub max_image_pixels: u64,
    /// Most layers in a scene. Default 10,000 (real posters have tens).
    /// Scene JSON read with these limits ([`crate::Scene::from_json_limited`])
    /// is refused at its 10,001st layer, before the rest is read.
    pub max_layers: usize,
    /// Most stops in one gradient. Default 1,024.
    pub max_gradient_stops: usize,
    /// Most characters in one text layer. Default 100,000.
    pub max_text_chars: usize,
    /// Most work font fallback may take for one text layer: for each word
    /// (a run to the next line-break opportunity), its length in characters
    /// times those of them the layer's font lacks, summed; cosmic-text's
    /// layout takes time in proportion, uninterruptibly
    /// (`text::fallback_work`). Default 16,777,216: a word of 4,096
    /// characters wholly outside the font (a few hundredths of a second),
    /// or 100,000 with 167 outside.
    pub max_text_fallback_work: u64,
    /// Largest image file read, in bytes. Default 256 MiB; larger files are
    /// refused from their size, before they are read.
    pub max_image_file_bytes: u64,
    /// Most memory one render may need, in bytes, as estimated once its
    /// images are decoded and before any layer is painted: the canvas, the
    /// decoded images, every resampled image and text raster, and the
    /// working buffers of every thread; and before each image file is
    /// decoded, what its decode holds at its peak (the file, the decoder's
    /// buffers, the result), predicted from its header, beside the canvas
    /// and the images already held. Default 1 GiB (a 1080x1350 poster
    /// needs about 30 MiB; a full 16384x16384 canvas alone needs 2 GiB).
    /// Scene JSON read with these limits holds its tree to this, or to
    /// 64 MiB where this is less, bounded from above as it is built.
    pub max_render_bytes: u64,
    /// Most frames in one animated source (GIF, APNG, animated WebP) or in
    /// one animated output. Default 1,000. Counted from the file's headers
    /// (for GIF, a walk over its blocks that decompresses nothing) before
    /// any frame is decoded.
    pub max_animation_frames: u32,
    /// Most pixels all the frames of one animation hold together (frames x
    /// width x height), for a decoded source and for a rendered output.
    /// Default 128 megapixels (512 MiB as RGBA8), refused from the headers
    /// like the frame count.
    pub max_animation_pixels: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_canvas_pixels: 16384 * 16384,
            max_image_pixels: 128 * 1024 * 1024,
            max_layers: 10_000,
            max_gradient_stops: 1024,
            max_text_chars: 100_000,
            max_text_fallback_work: 1 << 24,
            max_image_file_bytes: 256 << 20,
            max_render_bytes: 1 << 30,
            max_animation_frames: 1000,
            max_animation_pixels: 128 * 1024 * 1024,
        }
    }
}
