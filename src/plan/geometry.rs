//! Layer geometry shared by both backends: the box and its rotation, the
//! antialiased coverage of a (rounded, rotated) box at a pixel, gradient
//! parameters, and where an image lands inside its box (`fit`, `position`).
//!
//! Keep the coverage formula in sync with `shaders/composite.wgsl`
//! (`box_coverage`).

use crate::scene::{Fit, Layer};

/// A layer's box, its rotation and its clip, ready for per-pixel queries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxGeometry {
    /// Left edge (box-local coordinates equal canvas coordinates before rotation).
    pub x0: f64,
    /// Top edge.
    pub y0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y1: f64,
    /// Corner radius, already limited to half the shorter side.
    pub radius: f64,
    /// cos of the rotation.
    pub cos: f64,
    /// sin of the rotation (clockwise on screen, y down).
    pub sin: f64,
    /// True when the rotation is a multiple of 360 degrees.
    pub axis_aligned: bool,
    /// The area clip `[x0, y0, x1, y1]` in box-local coordinates: the box
    /// itself, or its intersection with a placed image.
    pub clip: [f64; 4],
}

impl BoxGeometry {
    /// The geometry of a layer's box.
    pub fn of(layer: &Layer) -> BoxGeometry {
        let (sin, cos) = sin_cos_degrees(layer.rotate);
        BoxGeometry {
            x0: layer.x,
            y0: layer.y,
            x1: layer.x + layer.width,
            y1: layer.y + layer.height,
            radius: layer
                .corner_radius
                .min(layer.width / 2.0)
                .min(layer.height / 2.0),
            cos,
            sin,
            axis_aligned: sin == 0.0 && cos == 1.0,
            clip: [
                layer.x,
                layer.y,
                layer.x + layer.width,
                layer.y + layer.height,
            ],
        }
    }

    /// The same box with its area clip narrowed to its intersection with
    /// `rect` (`[x0, y0, x1, y1]`, box-local), e.g. the placed image.
    pub fn with_clip(mut self, rect: [f64; 4]) -> BoxGeometry {
        self.clip = [
            self.clip[0].max(rect[0]),
            self.clip[1].max(rect[1]),
            self.clip[2].min(rect[2]),
            self.clip[3].min(rect[3]),
        ];
        self
    }

    /// The box centre (the centre of rotation).
    pub fn centre(&self) -> (f64, f64) {
        ((self.x0 + self.x1) / 2.0, (self.y0 + self.y1) / 2.0)
    }

    /// Maps a canvas point into box-local (unrotated) coordinates.
    #[inline]
    pub fn local_point(&self, px: f64, py: f64) -> (f64, f64) {
        if self.axis_aligned {
            return (px, py);
        }
        let (cx, cy) = self.centre();
        let (dx, dy) = (px - cx, py - cy);
        (
            cx + self.cos * dx + self.sin * dy,
            cy - self.sin * dx + self.cos * dy,
        )
    }

    /// Maps a box-local point to canvas coordinates.
    pub fn canvas_point(&self, lx: f64, ly: f64) -> (f64, f64) {
        let (cx, cy) = self.centre();
        let (dx, dy) = (lx - cx, ly - cy);
        (
            cx + self.cos * dx - self.sin * dy,
            cy + self.sin * dx + self.cos * dy,
        )
    }

    /// Canvas-space bounding box `[x0, y0, x1, y1)` in whole pixels of what
    /// the layer can touch, clipped to a `width` x `height` canvas; `None` when
    /// it touches nothing.
    pub fn pixel_bounds(&self, width: u32, height: u32) -> Option<[u32; 4]> {
        let [x0, y0, x1, y1] = self.clip;
        if x0 >= x1 || y0 >= y1 {
            return None;
        }
        let corners = [
            self.canvas_point(x0, y0),
            self.canvas_point(x1, y0),
            self.canvas_point(x0, y1),
            self.canvas_point(x1, y1),
        ];
        let minx = corners.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
        let maxx = corners
            .iter()
            .map(|c| c.0)
            .fold(f64::NEG_INFINITY, f64::max);
        let miny = corners.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
        let maxy = corners
            .iter()
            .map(|c| c.1)
            .fold(f64::NEG_INFINITY, f64::max);
        clip_bounds(minx, miny, maxx, maxy, width, height)
    }

    /// Coverage of the pixel whose centre is the canvas point `(px, py)`, in 0..=1.
    ///
    /// For an axis-aligned box without rounding this is exactly the fraction
    /// of the pixel's area inside the area clip (the box, or the box and the
    /// placed image). A rotated box uses the same
    /// formula on the pixel square taken in box-local coordinates; a rounded
    /// corner takes the smaller of that and the signed-distance coverage of the
    /// corner's circle, `clamp(r - dist + 0.5, 0, 1)`.
    #[inline]
    pub fn coverage(&self, px: f64, py: f64) -> f64 {
        let (lx, ly) = self.local_point(px, py);
        let [x0, y0, x1, y1] = self.clip;
        let cx = (x1.min(lx + 0.5) - x0.max(lx - 0.5)).clamp(0.0, 1.0);
        let cy = (y1.min(ly + 0.5) - y0.max(ly - 0.5)).clamp(0.0, 1.0);
        let mut cov = cx * cy;
        let r = self.radius;
        if r > 0.0 && cov > 0.0 {
            let qx = if lx < self.x0 + r {
                Some(self.x0 + r)
            } else if lx > self.x1 - r {
                Some(self.x1 - r)
            } else {
                None
            };
            let qy = if ly < self.y0 + r {
                Some(self.y0 + r)
            } else if ly > self.y1 - r {
                Some(self.y1 - r)
            } else {
                None
            };
            if let (Some(qx), Some(qy)) = (qx, qy) {
                let dist = ((lx - qx).powi(2) + (ly - qy).powi(2)).sqrt();
                cov = cov.min((r - dist + 0.5).clamp(0.0, 1.0));
            }
        }
        cov
    }
}

/// Integer pixel bounds of a float rectangle, grown to whole pixels and
/// clipped to the canvas.
pub fn clip_bounds(
    minx: f64,
    miny: f64,
    maxx: f64,
    maxy: f64,
    width: u32,
    height: u32,
) -> Option<[u32; 4]> {
    let x0 = minx.floor().max(0.0);
    let y0 = miny.floor().max(0.0);
    let x1 = maxx.ceil().min(width as f64);
    let y1 = maxy.ceil().min(height as f64);
    if x0 >= x1 || y0 >= y1 {
        return None;
    }
    // All four are within 0..=width/height here, so the casts are exact.
    Some([x0 as u32, y0 as u32, x1 as u32, y1 as u32])
}

/// `(sin, cos)` of an angle in degrees, exact for multiples of 90.
pub fn sin_cos_degrees(deg: f64) -> (f64, f64) {
    let r = deg.rem_euclid(360.0);
    if r == 0.0 {
        (0.0, 1.0)
    } else if r == 90.0 {
        (1.0, 0.0)
    } else if r == 180.0 {
        (0.0, -1.0)
    } else if r == 270.0 {
        (-1.0, 0.0)
    } else {
        r.to_radians().sin_cos()
    }
}

/// A linear gradient's `t` as an affine function of the canvas point:
/// `t = t0 + dx·px + dy·py` (before clamping).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearRamp {
    /// `t` at the canvas origin.
    pub t0: f64,
    /// Change of `t` per pixel to the right.
    pub dx: f64,
    /// Change of `t` per pixel down.
    pub dy: f64,
}

impl LinearRamp {
    /// CSS `linear-gradient` geometry in the layer's box, rotated with it:
    /// `t = ((p - centre) . (sin a, -cos a)) / (|w sin a| + |h cos a|) + 0.5`
    /// with `p` in box-local coordinates.
    pub fn new(g: &BoxGeometry, angle: f64) -> LinearRamp {
        let (sa, ca) = sin_cos_degrees(angle);
        let (w, h) = (g.x1 - g.x0, g.y1 - g.y0);
        let len = (w * sa).abs() + (h * ca).abs();
        // Direction in box-local space, then carried to canvas space: local
        // l = c + R(-θ)(p - c), so (l - c)·v = (p - c)·R(θ)v.
        let (vx, vy) = (sa / len, -ca / len);
        let (rx, ry) = (g.cos * vx - g.sin * vy, g.sin * vx + g.cos * vy);
        let (cx, cy) = g.centre();
        LinearRamp {
            t0: 0.5 - (cx * rx + cy * ry),
            dx: rx,
            dy: ry,
        }
    }

    /// `t` at a canvas point.
    #[inline]
    pub fn at(&self, px: f64, py: f64) -> f64 {
        self.t0 + self.dx * px + self.dy * py
    }
}

/// A radial gradient's centre in canvas space and its radius.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialRamp {
    /// Centre, canvas x.
    pub cx: f64,
    /// Centre, canvas y.
    pub cy: f64,
    /// Radius in pixels (> 0).
    pub radius: f64,
}

impl RadialRamp {
    /// Centre at fractions of the box (rotated with it); radius given or the
    /// distance from the centre to the farthest box corner.
    pub fn new(g: &BoxGeometry, center: [f64; 2], radius: Option<f64>) -> RadialRamp {
        let lx = g.x0 + center[0] * (g.x1 - g.x0);
        let ly = g.y0 + center[1] * (g.y1 - g.y0);
        let radius = radius.unwrap_or_else(|| {
            let fx = (lx - g.x0).abs().max((g.x1 - lx).abs());
            let fy = (ly - g.y0).abs().max((g.y1 - ly).abs());
            (fx * fx + fy * fy).sqrt()
        });
        let (cx, cy) = g.canvas_point(lx, ly);
        RadialRamp {
            cx,
            cy,
            // A centre on a corner of a degenerate box could give 0; keep it positive.
            radius: radius.max(1e-9),
        }
    }

    /// `t` at a canvas point.
    #[inline]
    pub fn at(&self, px: f64, py: f64) -> f64 {
        ((px - self.cx).powi(2) + (py - self.cy).powi(2)).sqrt() / self.radius
    }
}

/// Where an image of natural size `sw` x `sh` lands in the box-local space:
/// the placed rectangle `(x, y, w, h)`, before clipping to the box.
pub fn place_image(
    layer: &Layer,
    fit: Fit,
    position: [f64; 2],
    sw: u32,
    sh: u32,
) -> (f64, f64, f64, f64) {
    let (bw, bh) = (layer.width, layer.height);
    let (sw, sh) = (sw as f64, sh as f64);
    let (pw, ph) = match fit {
        Fit::Fill => (bw, bh),
        Fit::None => (sw, sh),
        Fit::Contain => {
            let s = (bw / sw).min(bh / sh);
            (sw * s, sh * s)
        }
        Fit::Cover => {
            let s = (bw / sw).max(bh / sh);
            (sw * s, sh * s)
        }
    };
    (
        layer.x + (bw - pw) * position[0],
        layer.y + (bh - ph) * position[1],
        pw,
        ph,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blend::BlendMode;
    use crate::color::Color;
    use crate::scene::LayerKind;

    fn layer(x: f64, y: f64, w: f64, h: f64, r: f64, rot: f64) -> Layer {
        Layer {
            x,
            y,
            width: w,
            height: h,
            opacity: 1.0,
            blend: BlendMode::SourceOver,
            corner_radius: r,
            rotate: rot,
            visible: true,
            kind: LayerKind::Rect {
                color: Color::default(),
            },
        }
    }

    #[test]
    fn axis_aligned_coverage_is_exact_area() {
        let g = BoxGeometry::of(&layer(1.25, 2.0, 2.5, 1.5, 0.0, 0.0));
        assert_eq!(g.coverage(1.5, 2.5), 0.75);
        assert_eq!(g.coverage(2.5, 2.5), 1.0);
        assert_eq!(g.coverage(3.5, 2.5), 0.75);
        assert_eq!(g.coverage(3.5, 3.5), 0.375);
        assert_eq!(g.coverage(0.5, 2.5), 0.0);
        // A box thinner than a pixel covers its own area.
        let thin = BoxGeometry::of(&layer(0.25, 0.0, 0.5, 1.0, 0.0, 0.0));
        assert_eq!(thin.coverage(0.5, 0.5), 0.5);
    }

    #[test]
    fn rotation_by_90_is_exact_and_turns_the_box() {
        let g = BoxGeometry::of(&layer(0.0, 4.0, 10.0, 2.0, 0.0, 90.0));
        // A 10x2 box centred at (5, 5) turned a quarter: 2 wide, 10 tall.
        assert_eq!(g.coverage(5.5, 0.5), 1.0);
        assert_eq!(g.coverage(4.5, 9.5), 1.0);
        assert_eq!(g.coverage(6.5, 5.0), 0.0);
        assert_eq!(g.pixel_bounds(100, 100), Some([4, 0, 6, 10]));
    }

    #[test]
    fn rounded_corner_clears_the_corner_and_keeps_the_edges() {
        let g = BoxGeometry::of(&layer(0.0, 0.0, 20.0, 20.0, 8.0, 0.0));
        assert_eq!(g.coverage(0.5, 0.5), 0.0);
        assert_eq!(g.coverage(10.5, 0.5), 1.0);
        assert_eq!(g.coverage(8.5, 8.5), 1.0);
        let edge = g.coverage(
            8.0 - 8.0 * std::f64::consts::FRAC_1_SQRT_2,
            8.0 - 8.0 * std::f64::consts::FRAC_1_SQRT_2,
        );
        assert!((edge - 0.5).abs() < 0.01, "{edge}");
    }

    #[test]
    fn linear_ramp_follows_css_angles() {
        let g = BoxGeometry::of(&layer(0.0, 0.0, 100.0, 50.0, 0.0, 0.0));
        let down = LinearRamp::new(&g, 180.0);
        assert!((down.at(50.0, 0.0) - 0.0).abs() < 1e-12);
        assert!((down.at(50.0, 50.0) - 1.0).abs() < 1e-12);
        let right = LinearRamp::new(&g, 90.0);
        assert!((right.at(0.0, 10.0) - 0.0).abs() < 1e-12);
        assert!((right.at(100.0, 10.0) - 1.0).abs() < 1e-12);
        // A box turned a quarter clockwise carries a downward gradient to the left.
        let g = BoxGeometry::of(&layer(0.0, 0.0, 100.0, 100.0, 0.0, 90.0));
        let turned = LinearRamp::new(&g, 180.0);
        assert!((turned.at(100.0, 50.0) - 0.0).abs() < 1e-12);
        assert!((turned.at(0.0, 50.0) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn fit_modes_place_like_object_fit() {
        let l = layer(10.0, 0.0, 100.0, 50.0, 0.0, 0.0);
        assert_eq!(
            place_image(&l, Fit::Fill, [0.5, 0.5], 20, 20),
            (10.0, 0.0, 100.0, 50.0)
        );
        assert_eq!(
            place_image(&l, Fit::Contain, [0.5, 0.5], 20, 20),
            (35.0, 0.0, 50.0, 50.0)
        );
        assert_eq!(
            place_image(&l, Fit::Cover, [0.0, 0.0], 20, 20),
            (10.0, 0.0, 100.0, 100.0)
        );
        assert_eq!(
            place_image(&l, Fit::Cover, [1.0, 1.0], 20, 20),
            (10.0, -50.0, 100.0, 100.0)
        );
        assert_eq!(
            place_image(&l, Fit::None, [1.0, 0.0], 20, 20),
            (90.0, 0.0, 20.0, 20.0)
        );
    }
}
