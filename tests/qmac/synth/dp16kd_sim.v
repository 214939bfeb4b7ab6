// Behavioural DP16KD for the block RAM output register tests (Yosys ships it as a black box).
//
// Written from Lattice's DP16KC/DP16KD simulation model as TN1264 describes the block: per
// port, on the clock edge (CLKxMUX "INV": falling edge) with CEx high and CSx matching
// CSDECODE_x, a write stores DIx (byte enables on ADx1:0 at 18 bits, ADA3:0 at 36) and the
// array latch follows WRITEMODE_x; a read loads the latch. RSTx clears the latch whatever CEx.
// The output register loads the latch when OCEx is high (RSTx clears it then); REGMODE_x picks
// register or latch for the DO pins. DATA_WIDTH_A = 36 is pseudo dual port: A writes 36 bits,
// B reads them on DOA (low half) and DOB, all on B's clock, OCEB and RSTB.
//
// Only 9, 18 and 36 bit ports are modelled (the tests' designs map to those); the model says so
// at elaboration otherwise. Cross-port collisions resolve in process order, the same in both
// netlists a test compares.
module DP16KD (
  input DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0,
  input ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0,
  input CEA, OCEA, CLKA, WEA, RSTA,
  input CSA2, CSA1, CSA0,
  output DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0,
  input DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0,
  input ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0,
  input CEB, OCEB, CLKB, WEB, RSTB,
  input CSB2, CSB1, CSB0,
  output DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0
);
  parameter DATA_WIDTH_A = 18;
  parameter DATA_WIDTH_B = 18;
  parameter REGMODE_A = "NOREG";
  parameter REGMODE_B = "NOREG";
  parameter RESETMODE = "SYNC";
  parameter ASYNC_RESET_RELEASE = "SYNC";
  parameter CSDECODE_A = "0b000";
  parameter CSDECODE_B = "0b000";
  parameter WRITEMODE_A = "NORMAL";
  parameter WRITEMODE_B = "NORMAL";
  parameter CLKAMUX = "CLKA";
  parameter CLKBMUX = "CLKB";
  parameter GSR = "ENABLED";
  parameter WID = 0;
  parameter INIT_DATA = "STATIC";
  parameter INITVAL_00 = 320'h0;
  parameter INITVAL_01 = 320'h0;
  parameter INITVAL_02 = 320'h0;
  parameter INITVAL_03 = 320'h0;
  parameter INITVAL_04 = 320'h0;
  parameter INITVAL_05 = 320'h0;
  parameter INITVAL_06 = 320'h0;
  parameter INITVAL_07 = 320'h0;
  parameter INITVAL_08 = 320'h0;
  parameter INITVAL_09 = 320'h0;
  parameter INITVAL_0A = 320'h0;
  parameter INITVAL_0B = 320'h0;
  parameter INITVAL_0C = 320'h0;
  parameter INITVAL_0D = 320'h0;
  parameter INITVAL_0E = 320'h0;
  parameter INITVAL_0F = 320'h0;
  parameter INITVAL_10 = 320'h0;
  parameter INITVAL_11 = 320'h0;
  parameter INITVAL_12 = 320'h0;
  parameter INITVAL_13 = 320'h0;
  parameter INITVAL_14 = 320'h0;
  parameter INITVAL_15 = 320'h0;
  parameter INITVAL_16 = 320'h0;
  parameter INITVAL_17 = 320'h0;
  parameter INITVAL_18 = 320'h0;
  parameter INITVAL_19 = 320'h0;
  parameter INITVAL_1A = 320'h0;
  parameter INITVAL_1B = 320'h0;
  parameter INITVAL_1C = 320'h0;
  parameter INITVAL_1D = 320'h0;
  parameter INITVAL_1E = 320'h0;
  parameter INITVAL_1F = 320'h0;
  parameter INITVAL_20 = 320'h0;
  parameter INITVAL_21 = 320'h0;
  parameter INITVAL_22 = 320'h0;
  parameter INITVAL_23 = 320'h0;
  parameter INITVAL_24 = 320'h0;
  parameter INITVAL_25 = 320'h0;
  parameter INITVAL_26 = 320'h0;
  parameter INITVAL_27 = 320'h0;
  parameter INITVAL_28 = 320'h0;
  parameter INITVAL_29 = 320'h0;
  parameter INITVAL_2A = 320'h0;
  parameter INITVAL_2B = 320'h0;
  parameter INITVAL_2C = 320'h0;
  parameter INITVAL_2D = 320'h0;
  parameter INITVAL_2E = 320'h0;
  parameter INITVAL_2F = 320'h0;
  parameter INITVAL_30 = 320'h0;
  parameter INITVAL_31 = 320'h0;
  parameter INITVAL_32 = 320'h0;
  parameter INITVAL_33 = 320'h0;
  parameter INITVAL_34 = 320'h0;
  parameter INITVAL_35 = 320'h0;
  parameter INITVAL_36 = 320'h0;
  parameter INITVAL_37 = 320'h0;
  parameter INITVAL_38 = 320'h0;
  parameter INITVAL_39 = 320'h0;
  parameter INITVAL_3A = 320'h0;
  parameter INITVAL_3B = 320'h0;
  parameter INITVAL_3C = 320'h0;
  parameter INITVAL_3D = 320'h0;
  parameter INITVAL_3E = 320'h0;
  parameter INITVAL_3F = 320'h0;

  localparam PDP = DATA_WIDTH_A == 36;

  initial begin
    if (!(DATA_WIDTH_A == 9 || DATA_WIDTH_A == 18 || DATA_WIDTH_A == 36) ||
        !(DATA_WIDTH_B == 9 || DATA_WIDTH_B == 18 || DATA_WIDTH_B == 36))
      $fatal(1, "dp16kd_sim.v models 9, 18 and 36 bit ports only, not %0d/%0d",
             DATA_WIDTH_A, DATA_WIDTH_B);
  end

  wire [17:0] dia = {DIA17, DIA16, DIA15, DIA14, DIA13, DIA12, DIA11, DIA10, DIA9, DIA8, DIA7, DIA6, DIA5, DIA4, DIA3, DIA2, DIA1, DIA0};
  wire [17:0] dib = {DIB17, DIB16, DIB15, DIB14, DIB13, DIB12, DIB11, DIB10, DIB9, DIB8, DIB7, DIB6, DIB5, DIB4, DIB3, DIB2, DIB1, DIB0};
  wire [13:0] ada = {ADA13, ADA12, ADA11, ADA10, ADA9, ADA8, ADA7, ADA6, ADA5, ADA4, ADA3, ADA2, ADA1, ADA0};
  wire [13:0] adb = {ADB13, ADB12, ADB11, ADB10, ADB9, ADB8, ADB7, ADB6, ADB5, ADB4, ADB3, ADB2, ADB1, ADB0};
  wire csa_ok = {CSA2, CSA1, CSA0} == csdecode(CSDECODE_A);
  wire csb_ok = {CSB2, CSB1, CSB0} == csdecode(CSDECODE_B);
  wire clka = (CLKAMUX == "INV") ? ~CLKA : CLKA;
  wire clkb = (CLKBMUX == "INV") ? ~CLKB : CLKB;

  function [2:0] csdecode(input [39:0] s);  // "0bXYZ"
    csdecode = {s[16], s[8], s[0]};
  endfunction

  // 2048 bytes of 9 bits: byte b of an 18-bit row r is 2r+b, of a 36-bit row 4r+b.
  reg [8:0] mem [0:2047];
  integer k;
  initial for (k = 0; k < 2048; k = k + 1) mem[k] = 9'd0;

  function [10:0] byte_index(input integer width, input [13:0] ad, input integer b);
    case (width)
      9: byte_index = ad[13:3];
      18: byte_index = {ad[13:4], 1'b0} + b;
      default: byte_index = {ad[13:5], 2'b00} + b;
    endcase
  endfunction

  reg [35:0] latch_a = 0, latch_b = 0, out_a = 0, out_b = 0;

  always @(posedge clka) begin : port_a
    integer b;
    reg [35:0] old;
    if (OCEA && !PDP) out_a <= RSTA ? 36'd0 : latch_a;
    if (RSTA) begin
      if (!PDP) latch_a <= 36'd0;
    end else if (CEA && csa_ok) begin
      for (b = 0; b < 4; b = b + 1) old[9*b +: 9] = mem[byte_index(DATA_WIDTH_A, ada, b)];
      if (WEA || PDP) begin
        if (DATA_WIDTH_A == 9) mem[byte_index(9, ada, 0)] <= dia[8:0];
        if (DATA_WIDTH_A == 18) begin
          if (ada[0]) mem[byte_index(18, ada, 0)] <= dia[8:0];
          if (ada[1]) mem[byte_index(18, ada, 1)] <= dia[17:9];
        end
        if (PDP) begin
          if (ada[0]) mem[byte_index(36, ada, 0)] <= dia[8:0];
          if (ada[1]) mem[byte_index(36, ada, 1)] <= dia[17:9];
          if (ada[2]) mem[byte_index(36, ada, 2)] <= dib[8:0];
          if (ada[3]) mem[byte_index(36, ada, 3)] <= dib[17:9];
        end
        if (!PDP && WRITEMODE_A == "WRITETHROUGH") latch_a <= {18'd0, dia};
        if (!PDP && WRITEMODE_A == "READBEFOREWRITE") latch_a <= old;
      end else if (!PDP) latch_a <= old;
    end
  end

  always @(posedge clkb) begin : port_b
    integer b;
    reg [35:0] old;
    if (OCEB) out_b <= RSTB ? 36'd0 : latch_b;
    if (RSTB) latch_b <= 36'd0;
    else if (CEB && csb_ok) begin
      for (b = 0; b < 4; b = b + 1) old[9*b +: 9] = mem[byte_index(DATA_WIDTH_B, adb, b)];
      if (WEB && !PDP) begin
        if (DATA_WIDTH_B == 9) mem[byte_index(9, adb, 0)] <= dib[8:0];
        if (DATA_WIDTH_B == 18) begin
          if (adb[0]) mem[byte_index(18, adb, 0)] <= dib[8:0];
          if (adb[1]) mem[byte_index(18, adb, 1)] <= dib[17:9];
        end
        if (WRITEMODE_B == "WRITETHROUGH") latch_b <= {18'd0, dib};
        if (WRITEMODE_B == "READBEFOREWRITE") latch_b <= old;
      end else latch_b <= old;
    end
  end

  wire [35:0] do_a = PDP ? ((REGMODE_A == "OUTREG") ? out_b : latch_b)
                         : ((REGMODE_A == "OUTREG") ? out_a : latch_a);
  wire [35:0] do_b = (REGMODE_B == "OUTREG") ? out_b : latch_b;
  wire [17:0] doa = do_a[17:0];
  wire [17:0] dob = PDP ? do_b[35:18] : do_b[17:0];
  assign {DOA17, DOA16, DOA15, DOA14, DOA13, DOA12, DOA11, DOA10, DOA9, DOA8, DOA7, DOA6, DOA5, DOA4, DOA3, DOA2, DOA1, DOA0} = doa;
  assign {DOB17, DOB16, DOB15, DOB14, DOB13, DOB12, DOB11, DOB10, DOB9, DOB8, DOB7, DOB6, DOB5, DOB4, DOB3, DOB2, DOB1, DOB0} = dob;
endmodule
