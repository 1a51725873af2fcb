export { processImage, sourceHashOf, variantWidths, variantRecipe, type ProcessedImage, type VariantFile } from './image-variants.ts';
export { imageHashes, replaceImages, loadImages, readMediaFiles, type StoredImage, type ImageInput, type ImageCounts } from './media.repository.ts';
export { mediaFolder, fillMediaFolder, isMediaName, type MediaFolder } from './media-folder.ts';
export { responsiveImage, publishedFiles, type ResponsiveImage, type PublishedFile } from './responsive-image.ts';
