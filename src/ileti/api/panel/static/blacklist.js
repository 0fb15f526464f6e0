// ileti panel, blacklist page: upload progress for the CSV import, and the import
// job's processing progress. Without JavaScript the form posts as usual and the job
// page has a refresh link.
"use strict";

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.id !== "import-form" || !window.FormData || !window.XMLHttpRequest) return;
  const file = form.querySelector('input[type="file"]');
  if (!file || !file.files || file.files.length === 0) return; // the server says why
  event.preventDefault();
  const box = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const button = form.querySelector('button[type="submit"]');
  if (box) box.hidden = false;
  if (button) button.disabled = true;
  const xhr = new XMLHttpRequest();
  xhr.open("POST", form.action);
  xhr.responseType = "document";
  xhr.upload.onprogress = (e) => {
    if (e.lengthComputable && bar) {
      const percent = Math.floor((e.loaded * 100) / e.total);
      bar.value = percent;
      bar.textContent = percent + "%";
    }
  };
  xhr.onload = () => {
    const target = new URL(xhr.responseURL || form.action, location.href);
    if (target.pathname !== new URL(form.action, location.href).pathname) {
      location.assign(target.href); // followed the redirect to the job's page
      return;
    }
    // The form again, with its error next to the file field.
    const page = xhr.response;
    if (page && page.documentElement) {
      document.replaceChild(document.adoptNode(page.documentElement), document.documentElement);
      const error = document.querySelector(".error");
      if (error) error.scrollIntoView();
    } else {
      form.submit();
    }
  };
  xhr.onerror = () => form.submit();
  xhr.send(new FormData(form));
});

function watchJob() {
  const box = document.getElementById("import-job");
  if (!box || !box.dataset.progress) return;
  const bar = document.getElementById("job-bar");
  const tick = () => {
    fetch(box.dataset.progress, { credentials: "same-origin", cache: "no-store" })
      .then((answer) => (answer.ok ? answer.json() : Promise.reject(answer.status)))
      .then((job) => {
        if (bar) {
          bar.value = job.percent;
          bar.textContent = job.percent + "%";
        }
        for (const name of ["rows", "added", "already", "repeated", "invalid"]) {
          const cell = document.querySelector('[data-count="' + name + '"]');
          if (cell) cell.textContent = job[name];
        }
        if (job.state === "running") setTimeout(tick, 500);
        else location.reload();
      })
      .catch(() => setTimeout(tick, 2000));
  };
  setTimeout(tick, 300);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watchJob);
else watchJob();
