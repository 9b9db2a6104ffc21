// Insighta Labs+ portal: small progressive enhancements. Every page works without this file.
(function () {
  'use strict'

  // Import: upload with a progress bar (XHR upload events), then show the server-rendered report.
  var form = document.getElementById('import-form')
  if (form && window.FormData && window.XMLHttpRequest) {
    form.addEventListener('submit', function (event) {
      var input = form.querySelector('input[type="file"]')
      if (!input || !input.files || input.files.length === 0) return
      event.preventDefault()
      var token = form.querySelector('input[name="_csrf"]')
      var box = document.getElementById('import-progress')
      var bar = document.getElementById('import-progress-bar')
      var label = document.getElementById('import-progress-label')
      var button = form.querySelector('button[type="submit"]')
      box.hidden = false
      button.disabled = true
      var xhr = new XMLHttpRequest()
      xhr.open('POST', form.action)
      xhr.setRequestHeader('Accept', 'application/json')
      if (token) xhr.setRequestHeader('X-CSRF-Token', token.value)
      xhr.upload.addEventListener('progress', function (e) {
        if (!e.lengthComputable) return
        var pct = Math.round((e.loaded / e.total) * 100)
        bar.value = pct
        label.textContent = 'Uploading… ' + pct + '%'
      })
      xhr.upload.addEventListener('load', function () {
        bar.removeAttribute('value')
        label.textContent = 'Uploaded. Importing rows…'
      })
      xhr.addEventListener('load', function () {
        var target = '/import'
        try {
          var body = JSON.parse(xhr.responseText)
          if (body && typeof body.redirect === 'string' && body.redirect.charAt(0) === '/' && body.redirect.charAt(1) !== '/') target = body.redirect
        } catch (ignored) { /* not JSON: show the import page */ }
        window.location.assign(target)
      })
      xhr.addEventListener('error', function () {
        label.textContent = 'The upload failed. Check your connection and try again.'
        button.disabled = false
      })
      xhr.send(new FormData(form))
    })
  }

  // Page size: apply at once when changed (the Apply button still works without script).
  var limit = document.getElementById('f-limit')
  if (limit && limit.form) {
    limit.addEventListener('change', function () {
      var page = limit.form.querySelector('input[name="page"]')
      if (page) page.remove()
      limit.form.submit()
    })
  }
})()
