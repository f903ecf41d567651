// Stand-in for an area whose screens are not written yet.
export function Placeholder(props: { title: string }) {
  return (
    <section className="console-page">
      <h1>{props.title}</h1>
      <p className="muted">This screen is being built.</p>
    </section>
  );
}
