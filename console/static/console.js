// Light enhancement only: every page works without it. The GOV.UK template
// sets these classes with an inline script, which the CSP does not allow.
import { initAll } from '/assets/govuk-frontend/govuk-frontend.min.js'

document.body.classList.add('js-enabled')
if ('noModule' in HTMLScriptElement.prototype) {
  document.body.classList.add('govuk-frontend-supported')
  initAll()
}
