// Copies text; where the web view refuses the clipboard API, selects the text box that
// shows it and falls back to the old copy command (so Ctrl+C works at worst).
export async function copyText(text: string, textBoxId: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const box = document.getElementById(textBoxId) as HTMLTextAreaElement | null;
    box?.select();
    return document.execCommand("copy");
  }
}
