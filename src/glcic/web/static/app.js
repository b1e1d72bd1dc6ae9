// glcic's page: open a photo, paint the hole at the photo's full resolution, complete it through
// POST /api/complete, compare, download, and keep editing the result. No framework, no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const photoCanvas = $("photo"), maskCanvas = $("mask"), stage = $("stage"), box = $("canvases");
const photoContext = photoCanvas.getContext("2d"), maskContext = maskCanvas.getContext("2d");
const PAINT = "rgb(255, 40, 40)";

const state = {
  name: "photo", width: 0, height: 0,
  original: null,      // Blob of the photo as opened
  current: null,       // Blob the next completion starts from (the photo, then each result)
  before: null,        // ImageBitmap before the last completion, for the comparison
  shown: null,         // ImageBitmap on screen
  result: null,        // Blob of the last result (PNG)
  strokes: [], redo: [], stroke: null,
  tool: "brush", size: 40, zoom: 1, busy: false,
};

function say(text, isError = false) {
  $("message").textContent = text;
  $("message").classList.toggle("error", isError);
}

function refreshButtons() {
  const loaded = state.current !== null, painted = state.strokes.length > 0;
  $("undo").disabled = !painted || state.busy;
  $("redo").disabled = state.redo.length === 0 || state.busy;
  $("clear").disabled = !painted || state.busy;
  $("complete").disabled = !loaded || !painted || state.busy;
  $("compare").disabled = state.before === null || state.busy;
  $("download").disabled = state.result === null;
  $("revert").disabled = state.result === null || state.busy;
  $("brush").classList.toggle("active", state.tool === "brush");
  $("eraser").classList.toggle("active", state.tool === "eraser");
}

function show(bitmap) {
  photoContext.drawImage(bitmap, 0, 0);
  state.shown = bitmap;
}

async function open(blob, name) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(blob, { imageOrientation: "from-image" });
  } catch (error) {
    say(`Cannot open ${name}: it is not an image this browser can read.`, true);
    return;
  }
  Object.assign(state, { name: name.replace(/\.[^.]+$/, "") || "photo", width: bitmap.width, height: bitmap.height,
    original: blob, current: blob, before: null, result: null, strokes: [], redo: [] });
  for (const canvas of [photoCanvas, maskCanvas]) { canvas.width = bitmap.width; canvas.height = bitmap.height; }
  show(bitmap);
  $("drop").hidden = true;
  box.hidden = false;
  fit();
  refreshButtons();
  say(`${name}: ${bitmap.width} × ${bitmap.height} px. Paint over what to remove, then press Complete.`);
}

// ---- painting: strokes are kept as data, so that undo and redo redraw them at full resolution
function drawStroke(stroke) {
  maskContext.save();
  maskContext.globalCompositeOperation = stroke.tool === "eraser" ? "destination-out" : "source-over";
  maskContext.strokeStyle = maskContext.fillStyle = PAINT;
  maskContext.lineWidth = stroke.size;
  maskContext.lineCap = maskContext.lineJoin = "round";
  const [x0, y0] = stroke.points[0];
  maskContext.beginPath();
  maskContext.arc(x0, y0, stroke.size / 2, 0, 2 * Math.PI);
  maskContext.fill();
  if (stroke.points.length > 1) {
    maskContext.beginPath();
    maskContext.moveTo(x0, y0);
    for (const [x, y] of stroke.points.slice(1)) maskContext.lineTo(x, y);
    maskContext.stroke();
  }
  maskContext.restore();
}

function redraw() {
  maskContext.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
  state.strokes.forEach(drawStroke);
}

function photoPoint(event) {
  const rect = maskCanvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * maskCanvas.width / rect.width, (event.clientY - rect.top) * maskCanvas.height / rect.height];
}

function moveCursor(event) {
  const cursor = $("cursor"), rect = maskCanvas.getBoundingClientRect(), boxRect = box.getBoundingClientRect();
  const diameter = state.size * rect.width / maskCanvas.width;
  Object.assign(cursor.style, { display: "block", width: `${diameter}px`, height: `${diameter}px`,
    left: `${event.clientX - boxRect.left - diameter / 2}px`, top: `${event.clientY - boxRect.top - diameter / 2}px` });
}

maskCanvas.addEventListener("pointerdown", (event) => {
  if (state.busy || event.button !== 0) return;
  maskCanvas.setPointerCapture(event.pointerId);
  state.stroke = { tool: state.tool, size: state.size, points: [photoPoint(event)] };
  drawStroke(state.stroke);
});
maskCanvas.addEventListener("pointermove", (event) => {
  moveCursor(event);
  if (!state.stroke) return;
  state.stroke.points.push(photoPoint(event));
  redraw();
  drawStroke(state.stroke);
});
function endStroke() {
  if (!state.stroke) return;
  state.strokes.push(state.stroke);
  state.stroke = null;
  state.redo = [];
  refreshButtons();
}
maskCanvas.addEventListener("pointerup", endStroke);
maskCanvas.addEventListener("pointercancel", endStroke);
maskCanvas.addEventListener("pointerleave", () => { $("cursor").style.display = "none"; });

function undo() { if (state.strokes.length) { state.redo.push(state.strokes.pop()); redraw(); refreshButtons(); } }
function redo() { if (state.redo.length) { state.strokes.push(state.redo.pop()); redraw(); refreshButtons(); } }
function clearMask() { if (state.strokes.length) { state.redo = []; state.strokes = []; redraw(); refreshButtons(); } }

// ---- zoom
function setZoom(zoom) {
  state.zoom = Math.min(8, Math.max(0.02, zoom));
  box.style.width = `${state.width * state.zoom}px`;
  box.style.height = `${state.height * state.zoom}px`;
  $("zoom-value").textContent = `${Math.round(state.zoom * 100)}%`;
}
function fit() {
  if (!state.width) return;
  setZoom(Math.min(1, (stage.clientWidth - 24) / state.width, (stage.clientHeight - 24) / state.height));
}

// ---- completion
function maskBlob() {
  // white where painted (with the brush's soft edge as grey), black elsewhere, at full resolution
  const canvas = document.createElement("canvas");
  canvas.width = maskCanvas.width;
  canvas.height = maskCanvas.height;
  const context = canvas.getContext("2d");
  context.fillStyle = "#000";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.filter = "brightness(0) invert(1)";
  context.drawImage(maskCanvas, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

async function completeHole() {
  if ($("complete").disabled) return;
  state.busy = true;
  document.body.dataset.busy = "true";
  const button = $("complete");
  button.textContent = "Completing…";
  button.classList.add("busy");
  refreshButtons();
  say("Completing…");
  try {
    const form = new FormData();
    form.append("image", state.current, `${state.name}.png`);
    form.append("mask", await maskBlob(), "mask.png");
    form.append("postprocess", $("postprocess").checked ? "true" : "false");
    if ($("model").value) form.append("model", $("model").value);
    form.append("native", $("native").checked ? "true" : "false");
    form.append("texture", $("texture").checked ? "true" : "false");
    const started = performance.now();
    const response = await fetch("/api/complete", { method: "POST", body: form });
    if (!response.ok) {
      let message = `the server answered ${response.status}`;
      try { message = (await response.json()).error || message; } catch (ignored) { /* not JSON */ }
      say(`Could not complete: ${message}`, true);
      return;
    }
    const result = await response.blob();
    const bitmap = await createImageBitmap(result);
    state.before = state.shown;
    state.current = state.result = result;
    show(bitmap);
    state.strokes = [];
    state.redo = [];
    redraw();
    say(`Completed in ${((performance.now() - started) / 1000).toFixed(1)} s. Hold C (or Before / after) to compare; paint again for another pass.`);
  } catch (error) {
    say(`Could not reach the server: ${error.message}`, true);
  } finally {
    state.busy = false;
    delete document.body.dataset.busy;
    button.textContent = "Complete";
    button.classList.remove("busy");
    refreshButtons();
  }
}

function compare(on) {
  if (state.before === null) return;
  photoContext.drawImage(on ? state.before : state.shown, 0, 0);
  $("compare").classList.toggle("active", on);
}

function download() {
  if (!state.result) return;
  const link = document.createElement("a");
  link.href = URL.createObjectURL(state.result);
  link.download = `${state.name}-completed.png`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

async function revert() {
  if (state.original) await open(state.original, `${state.name}`);
}

// ---- wiring
$("file").addEventListener("change", (event) => { const file = event.target.files[0]; if (file) open(file, file.name); event.target.value = ""; });
stage.addEventListener("dragover", (event) => { event.preventDefault(); $("drop").classList.add("over"); });
stage.addEventListener("dragleave", () => $("drop").classList.remove("over"));
stage.addEventListener("drop", (event) => {
  event.preventDefault();
  $("drop").classList.remove("over");
  const file = event.dataTransfer.files[0];
  if (file) open(file, file.name);
});
$("brush").addEventListener("click", () => { state.tool = "brush"; refreshButtons(); });
$("eraser").addEventListener("click", () => { state.tool = "eraser"; refreshButtons(); });
function setSize(size) {
  state.size = Math.min(300, Math.max(2, Math.round(size)));
  $("size").value = state.size;
  $("size-value").textContent = state.size;
}
$("size").addEventListener("input", (event) => setSize(Number(event.target.value)));
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("clear").addEventListener("click", clearMask);
$("fit").addEventListener("click", fit);
$("zoom-in").addEventListener("click", () => setZoom(state.zoom * 1.25));
$("zoom-out").addEventListener("click", () => setZoom(state.zoom / 1.25));
stage.addEventListener("wheel", (event) => {
  if (!event.ctrlKey || !state.width) return;
  event.preventDefault();
  setZoom(state.zoom * (event.deltaY < 0 ? 1.1 : 1 / 1.1));
}, { passive: false });
$("complete").addEventListener("click", completeHole);
$("compare").addEventListener("pointerdown", () => compare(true));
$("compare").addEventListener("pointerup", () => compare(false));
$("compare").addEventListener("pointerleave", () => compare(false));
$("download").addEventListener("click", download);
$("revert").addEventListener("click", revert);
window.addEventListener("resize", () => { if (state.width) fit(); });

document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT" && event.target.type !== "range" && event.target.type !== "checkbox") return;
  const key = event.key.toLowerCase(), command = event.ctrlKey || event.metaKey;
  if (command && key === "z") { event.preventDefault(); event.shiftKey ? redo() : undo(); }
  else if (command && key === "y") { event.preventDefault(); redo(); }
  else if (command) return;
  else if (key === "b") { state.tool = "brush"; refreshButtons(); }
  else if (key === "e") { state.tool = "eraser"; refreshButtons(); }
  else if (key === "[") setSize(state.size / 1.2);
  else if (key === "]") setSize(state.size * 1.2);
  else if (key === "delete" || key === "backspace") clearMask();
  else if (key === "f") fit();
  else if (key === "+" || key === "=") setZoom(state.zoom * 1.25);
  else if (key === "-") setZoom(state.zoom / 1.25);
  else if (key === "enter") completeHole();
  else if (key === "c" && !event.repeat) compare(true);
  else if (key === "d") download();
  else if (key === "o") $("file").click();
});
document.addEventListener("keyup", (event) => { if (event.key.toLowerCase() === "c") compare(false); });

refreshButtons();

// The models the server offers (the first is its default); the choice shows only when there are several.
fetch("/api/info").then((response) => response.json()).then((info) => {
  const names = Object.keys(info.models || {});
  for (const name of names) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    $("model").append(option);
  }
  $("model").value = info.default_model || names[0] || "";
  $("model-choice").hidden = names.length < 2;
  // Photo texture starts on where the server can do it: its fills are told from the photo far less
  // often, at a small cost in pixel error (docs/texture.md); off and disabled, with the reason, where it cannot.
  $("texture").checked = info.texture === true;
  $("texture").disabled = info.texture === false;
  if (info.texture === false) $("texture").parentElement.title = info.texture_problem || "the server cannot add texture";
}).catch(() => { /* an old server: no choice to offer */ });
