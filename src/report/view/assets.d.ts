// CSS files are bundled as text (scripts/build-report-view.mjs, loader '.css': 'text').
declare module '*.css' {
  const text: string;
  export default text;
}
