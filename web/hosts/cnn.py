import webdl
import webdl.nn as nn
import webdl.nn.functional as F

webdl.manual_seed(0)
model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 4 * 4, 2))
opt = webdl.optim.Adam(model.parameters(), lr=1e-2)
x, y = webdl.randn(16, 1, 8, 8), webdl.randint(0, 2, (16,))
for step in range(10):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
print(f"device {x.device} loss {loss.item():.6f}")
