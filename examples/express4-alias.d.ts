// `express4` is an npm alias of express 4 (package.json); it ships no types of
// its own. The routing API the examples and tests use is the same in 4 and 5,
// so it borrows @types/express.
declare module "express4" {
  import express = require("express");
  export = express;
}
