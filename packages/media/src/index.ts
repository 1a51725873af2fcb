export { processImage, sourceHashOf } from './image-variants.ts';
export { imageHashes, replaceImages, upsertImages, loadImages, readMediaFiles, type StoredImage, type ImageInput } from './media.repository.ts';
export { mediaFolder, fillMediaFolder } from './media-folder.ts';
export { responsiveImage, publishedFiles, type ResponsiveImage, type PublishedFile } from './responsive-image.ts';
export { processImageCached, imageCacheDir } from './image-cache.ts';
