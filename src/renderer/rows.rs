//! The library's batch runner: a template rendered over a stream of rows,
//! for a Rust service that has rows and no files (`impasto batch` is the
//! command-line runner, with its manifest and output files).

use std::collections::BTreeMap;

use image::RgbaImage;
use rayon::prelude::*;

use super::{Backend, Renderer};
use crate::{Assets, Error, RenderOptions, Rendered, Scene, Template};

/// Rows bound and in flight at once, per thread of the rayon pool: enough to
/// keep every core busy, few enough that memory stays that of a few renders
/// however many rows the iterator yields.
const ROWS_PER_THREAD: usize = 2;

impl Renderer {
    /// Binds each row of `rows` to `template` ([`Template::bind`]) and
    /// renders it, handing each result with its row index (from 0) to
    /// `on_result`, in row order. A row that fails to bind (a missing
    /// required value, a bad colour: the error names the variable and
    /// layer) or to render does not stop the others; a render's error in
    /// a field a variable filled names that variable too (an image `src`
    /// naming no file: [`Template::attribute`]).
    ///
    /// Rows are pulled from the iterator a group at a time (two per thread),
    /// so a stream of a million rows holds only one group. On the CPU the
    /// rows of a group render in parallel; on the GPU they go through
    /// [`Renderer::render_each`], where one row is uploaded while the
    /// previous one is drawn and read back. Results are exactly what
    /// [`Renderer::render_with_assets`] gives for the bound scene. Warnings
    /// (glyphs no font has) are logged; [`Renderer::render_rows_report`]
    /// hands them over with each image, under a deadline or cancel token.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use impasto::{Assets, Backend, Renderer, Template};
    ///
    /// let template = Template::from_json(r##"{
    ///     "width": 8, "height": 8,
    ///     "variables": { "accent": { "type": "color", "required": true } },
    ///     "layers": [ { "type": "rect", "color": "{{accent}}" } ]
    /// }"##)?;
    /// let rows = ["#e4572e", "not a colour", "#2e86ab"]
    ///     .map(|c| BTreeMap::from([("accent".to_string(), c.to_string())]));
    /// let renderer = Renderer::new(Backend::Cpu)?;
    /// let mut ok = Vec::new();
    /// renderer.render_rows(&template, rows, &Assets::new(), |i, result| {
    ///     ok.push((i, result.is_ok()));
    /// });
    /// assert_eq!(ok, [(0, true), (1, false), (2, true)]);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_rows<I>(
        &self,
        template: &Template,
        rows: I,
        assets: &Assets,
        mut on_result: impl FnMut(usize, Result<RgbaImage, Error>),
    ) where
        I: IntoIterator<Item = BTreeMap<String, String>>,
    {
        let options = RenderOptions::default();
        self.render_rows_report(template, rows, assets, &options, |i, result| {
            on_result(
                i,
                result.map(|r| {
                    crate::warnings::log_all(&r.warnings);
                    r.image
                }),
            )
        });
    }

    /// [`Renderer::render_rows`] that hands each row's warnings with its
    /// image ([`Rendered`], as [`Renderer::render_report`] does), under
    /// `options`: its deadline and cancel token cover the whole run. Once
    /// the deadline passes or the token is cancelled, the rows in flight
    /// fail with that error ([`Error::DeadlineExceeded`],
    /// [`Error::Cancelled`]) and no further row is taken from `rows`, so a
    /// stream of a million rows stops at once: unlike
    /// [`Renderer::render_each_with`], which hands a result for every scene
    /// of its slice, the rows not taken get no call of `on_result` (count
    /// the calls to know where the run stopped).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use impasto::{Assets, Backend, CancelToken, RenderOptions, Renderer, Template};
    ///
    /// let template = Template::from_json(r##"{
    ///     "width": 8, "height": 8,
    ///     "variables": { "accent": { "type": "color", "required": true } },
    ///     "layers": [ { "type": "rect", "color": "{{accent}}" } ]
    /// }"##)?;
    /// let rows = std::iter::repeat_with(|| {
    ///     BTreeMap::from([("accent".to_string(), "#2e86ab".to_string())])
    /// });
    /// let token = CancelToken::new();
    /// let options = RenderOptions::default().cancel_token(token.clone());
    /// let mut done = 0;
    /// Renderer::new(Backend::Cpu)?.render_rows_report(&template, rows, &Assets::new(), &options, |_, result| {
    ///     match result {
    ///         Ok(rendered) => assert!(rendered.warnings.is_empty()),
    ///         Err(e) => assert!(matches!(e, impasto::Error::Cancelled)),
    ///     }
    ///     done += 1;
    ///     if done == 100 {
    ///         token.cancel();
    ///     }
    /// });
    /// assert!(done >= 100);
    /// # Ok::<(), impasto::Error>(())
    /// ```
    pub fn render_rows_report<I>(
        &self,
        template: &Template,
        rows: I,
        assets: &Assets,
        options: &RenderOptions,
        mut on_result: impl FnMut(usize, Result<Rendered, Error>),
    ) where
        I: IntoIterator<Item = BTreeMap<String, String>>,
    {
        let group_size = (rayon::current_num_threads() * ROWS_PER_THREAD).max(1);
        let stop = options.stop();
        let mut rows = rows.into_iter().enumerate().peekable();
        while !stop.now() && rows.peek().is_some() {
            let group: Vec<(usize, Result<Scene, Error>)> = rows
                .by_ref()
                .take(group_size)
                .map(|(i, row)| (i, template.bind(&row)))
                .collect();
            let results = if self.backend == Backend::Cpu || self.gpu.is_none() {
                self.render_group_in_parallel(group, assets, options)
            } else {
                self.render_group_overlapped(group, assets, options)
            };
            for (i, result) in results {
                // A render's error in a field a variable filled names the
                // variable, as a bind error does.
                on_result(i, result.map_err(|e| template.attribute(e)));
            }
        }
    }

    /// The CPU: the rows of a group at once, one per rayon task.
    fn render_group_in_parallel(
        &self,
        group: Vec<(usize, Result<Scene, Error>)>,
        assets: &Assets,
        options: &RenderOptions,
    ) -> Vec<(usize, Result<Rendered, Error>)> {
        group
            .into_par_iter()
            .map(|(i, scene)| {
                let rendered = scene.and_then(|s| self.render_report(&s, assets, options));
                (i, rendered)
            })
            .collect()
    }

    /// The GPU: the bound scenes of a group through `render_each`, the rows
    /// that failed to bind put back in their places.
    fn render_group_overlapped(
        &self,
        group: Vec<(usize, Result<Scene, Error>)>,
        assets: &Assets,
        options: &RenderOptions,
    ) -> Vec<(usize, Result<Rendered, Error>)> {
        let mut results: Vec<(usize, Option<Result<Rendered, Error>>)> =
            Vec::with_capacity(group.len());
        let mut scenes = Vec::new();
        let mut slots = Vec::new();
        for (slot, (i, bound)) in group.into_iter().enumerate() {
            match bound {
                Ok(scene) => {
                    scenes.push(scene);
                    slots.push(slot);
                    results.push((i, None));
                }
                Err(e) => results.push((i, Some(Err(e)))),
            }
        }
        self.render_each_report_with(&scenes, assets, options, |k, result| {
            results[slots[k]].1 = Some(result);
        });
        results
            .into_iter()
            .map(|(i, r)| {
                // `render_each` hands over one result per scene, so every
                // slot is filled; the fallback only keeps this total.
                let r = r.unwrap_or_else(|| Err(Error::Internal(format!("row {i}: no result"))));
                (i, r)
            })
            .collect()
    }
}
