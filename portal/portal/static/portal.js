// Progressive enhancement only: every page works without this file. GOV.UK Frontend and MOJ Frontend
// components start here, and again inside whatever htmx swaps into the page.
import { initAll as initGovuk } from "/static/dist/govuk-frontend.min.js";
import { initAll as initMoj } from "/static/dist/moj-frontend.min.js";

initGovuk();
initMoj();
document.body.addEventListener("htmx:afterSwap", (event) => {
  initGovuk({ scope: event.detail.target });
  initMoj(event.detail.target);
});
