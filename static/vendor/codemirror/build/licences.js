// Prints the licence of every package inside the bundle (all of node_modules but esbuild).
const fs = require("fs");
const path = require("path");
const lock = require("./package-lock.json");
for (const [where, info] of Object.entries(lock.packages)) {
  if (!where || info.dev) continue;
  const folder = path.join(__dirname, where);
  const licence = fs.readdirSync(folder).find((name) => /^licen[cs]e/i.test(name));
  console.log(`== ${where.replace(/^node_modules\//, "")} ${info.version} (${info.license}) ==`);
  console.log(licence ? fs.readFileSync(path.join(folder, licence), "utf8").trim() : "(no licence file)");
  console.log();
}
