// The page's behaviour: choose or drop a photo, preview it, POST it to /predict, draw the top 5 as bars.
(() => {
  const input = document.getElementById('image-input');
  const zone = document.getElementById('drop-zone');
  const preview = document.getElementById('preview');
  const figure = document.getElementById('preview-figure');
  const previewName = document.getElementById('preview-name');
  const status = document.getElementById('status');
  const prediction = document.getElementById('prediction');
  const predictedLabel = document.getElementById('predicted-label');
  const top5 = document.getElementById('top5');
  const modelInfo = document.getElementById('model-info');

  fetch('model').then(r => r.ok ? r.json() : Promise.reject(r)).then(m => {
    modelInfo.textContent = `Model ${m.name} (version ${m.version}): ${m.info.classNames.length} classes, ${m.info.imageWidth}×${m.info.imageHeight} input.`;
  }).catch(() => { modelInfo.textContent = 'The model is not loaded yet.'; });

  input.addEventListener('change', () => { if (input.files.length) classify(input.files[0]); });
  for (const name of ['dragenter', 'dragover']) {
    zone.addEventListener(name, e => { e.preventDefault(); zone.classList.add('dragging'); });
  }
  for (const name of ['dragleave', 'drop']) {
    zone.addEventListener(name, e => { e.preventDefault(); zone.classList.remove('dragging'); });
  }
  zone.addEventListener('drop', e => { if (e.dataTransfer.files.length) classify(e.dataTransfer.files[0]); });

  let previewUrl = null;
  async function classify(file) {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    previewUrl = URL.createObjectURL(file);
    preview.src = previewUrl;
    preview.alt = `The photo being classified: ${file.name}`;
    previewName.textContent = file.name;
    figure.hidden = false;
    prediction.hidden = true;
    top5.replaceChildren();
    status.classList.remove('error');
    status.textContent = 'Classifying…';

    const body = new FormData();
    body.append('image', file, file.name);
    let answer;
    try {
      const response = await fetch('predict', { method: 'POST', body });
      answer = await response.json();
      if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    } catch (e) {
      status.classList.add('error');
      status.textContent = `Cannot classify this file: ${e.message}`;
      return;
    }

    predictedLabel.textContent = answer.predictedLabel;
    prediction.hidden = false;
    status.textContent = `Classified in ${answer.elapsedMs.toFixed(1)} ms by ${answer.model.name} (${answer.model.version}).`;
    for (const { label, score } of answer.top5) {
      const pct = (100 * score).toFixed(1) + '%';
      const item = document.createElement('li');
      const name = document.createElement('span');
      name.className = 'label';
      name.textContent = label;
      const bar = document.createElement('div');
      bar.className = 'bar';
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-label', `${label}: ${pct}`);
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', (100 * score).toFixed(1));
      const fill = document.createElement('span');
      fill.style.width = pct;
      bar.append(fill);
      const value = document.createElement('span');
      value.className = 'pct';
      value.textContent = pct;
      item.append(name, bar, value);
      top5.append(item);
    }
  }
})();
