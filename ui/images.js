/**
 * Images attached in the page: read from a File, resized in the browser so that the longest edge
 * is at most the model's (the server would shrink them anyway; smaller uploads are faster), and
 * kept as data: URLs, which both the API and `smolvlm chat`'s /load accept.
 */

/** The image files among `files` (a FileList or an array). */
export function imageFiles(files) {
  return Array.from(files ?? []).filter((file) => file.type.startsWith('image/'));
}

/** `file` as { name, dataUrl, width, height }, its longest edge at most `longestEdge`. */
export async function prepareImage(file, longestEdge) {
  const bitmap = await createImageBitmap(file);
  try {
    const scale = Math.min(1, longestEdge / Math.max(bitmap.width, bitmap.height));
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d');
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    // PNG keeps transparency and sharp edges (screenshots); photos are smaller as JPEG.
    const type = file.type === 'image/png' ? 'image/png' : 'image/jpeg';
    return { name: file.name || 'image', dataUrl: canvas.toDataURL(type, 0.92), width, height };
  } finally {
    bitmap.close();
  }
}
