/**
 * A `fetch` that reports upload progress, for browsers: `fetch` itself cannot
 * (request-body streams need HTTP/2 and duplex), so this sends through
 * XMLHttpRequest, whose `upload.onprogress` can. Elsewhere (Node) there is no
 * XMLHttpRequest and `uploadFetch` returns null: the caller keeps `fetch`.
 *
 * @example
 * const fetchFn = uploadFetch((loaded, total) => bar.value = loaded / total) ?? fetch;
 */
export type UploadProgress = (loaded: number, total: number) => void;

export function uploadFetch(onProgress: UploadProgress): typeof fetch | null {
  const Xhr = (globalThis as { XMLHttpRequest?: typeof XMLHttpRequest }).XMLHttpRequest;
  if (!Xhr) return null;
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const xhr = new Xhr();
      xhr.open(init.method ?? 'GET', String(input));
      for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
        // Browsers refuse to let a page set these (and log an error saying so).
        if (name.toLowerCase() !== 'user-agent') xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : event.loaded);
      xhr.onload = () => {
        const nullBody = xhr.status === 204 || xhr.status === 205 || xhr.status === 304;
        resolve(new Response(nullBody ? null : xhr.responseText, { status: xhr.status, headers: parseHeaders(xhr.getAllResponseHeaders()) }));
      };
      xhr.onerror = () => reject(new TypeError('Network request failed'));
      xhr.onabort = () => reject(init.signal?.reason ?? new DOMException('Aborted', 'AbortError'));
      init.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
      xhr.send((init.body as string | undefined) ?? null);
    });
}

function parseHeaders(raw: string): Headers {
  const headers = new Headers();
  for (const line of raw.trim().split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return headers;
}
