/** Text the synthetic tokenizer learns its merges from (written for this project). */
export const CORPUS = `User: Can you describe this image?
Assistant: The image shows a small red boat on a calm lake. There are tall green trees along the shore and a
white house with a blue door. The sky is clear and the water reflects the trees and the house.

User: What is the weather like in the picture?
Assistant: The weather looks sunny and warm. There are no clouds in the sky, and the light is bright.
User: Write a short story about the image.
Assistant: Once upon a time there was a little boat that lived on a quiet lake. Every morning the boat
watched the sun rise over the trees. One day a child came down from the white house, untied the rope, and
rowed the boat to the middle of the lake. They looked at the fish, the birds and the clouds, and they
talked about everything they could see. In the evening the child rowed back to the shore, tied the rope
again, and went home for dinner. The boat was happy, because it had a friend.

User: How many people are in the photo?
Assistant: There are two people in the photo. One person is standing near the window and the other person
is sitting at a table with a cup of coffee and a book.
User: What does the text on the sign say?
Assistant: The sign says "Open every day from nine to five". Below the text there is a picture of a cat.
User: Is there a dog in this image?
Assistant: No, there is no dog in this image. There is a cat sitting on the chair next to the door.

User: Describe the chart.
Assistant: The chart shows the number of visitors for each month of the year. The line goes up in the
summer and goes down in the winter. The highest value is in July and the lowest value is in January.
User: What colors do you see?
Assistant: I see red, orange, yellow, green, blue and purple. The colors are bright and the picture looks
like a painting of a garden with many flowers.
User: Compare the two images.
Assistant: The first image shows a city street at night with lights and cars. The second image shows a
mountain road in the morning with snow on the ground. Both images show a road, but the places and the time
of day are different.
User: Read the document and tell me what it is about.
Assistant: The document is a letter about a meeting. It says that the meeting will take place on Monday
in the main room, and that everyone should bring their notes and questions.

The quick brown fox jumps over the lazy dog. A picture is worth a thousand words. The children played in
the park while their parents talked on the bench. The train arrives at the station in the morning and
leaves in the evening. She opened the window and looked at the garden, where the flowers were growing in
the warm light of the afternoon. He wrote a long letter to his friend and put it in the box by the road.
We walked along the river, crossed the old bridge, and found a small cafe where we had tea and cake.
The camera was placed on the table, and the photo shows the kitchen, the table, the chairs and the lamp.

Café au lait, naïve façade, Größe und Straße, el niño pequeño, la fenêtre ouverte, smörgåsbord.
Grüße aus München! Ça va très bien, merci. ¿Dónde está la estación? Много людей гуляют в парке.
東京の天気は晴れです。 今日はいい天気ですね。 北京欢迎你。 서울은 아름다운 도시입니다.
Emoji: 🙂 🚀 🌍 ✨ — “quotes” and ‘apostrophes’ … and more — the end.
`;
