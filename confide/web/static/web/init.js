// Loaded as a module, so browsers too old for GOV.UK Frontend's JavaScript never run it and
// keep the plain HTML pages, which work on their own. The relative import keeps working when
// collectstatic gives this file a hashed name.
import { initAll } from "../govuk/govuk-frontend.min.js";

initAll();
