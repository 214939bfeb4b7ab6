// Behavioural model of the Lattice ECP5 MULT18X18D, for simulating qmac's ECP5-target Verilog.
//
// Yosys ships MULT18X18D only as a black box (share/ecp5/cells_bb.v, "FIXME: Create sim models"),
// so this model is written from Lattice TN1267 (ECP5 sysDSP Usage Guide): the product of the A and
// B inputs, each signed when its SIGNEDx pin is high, through up to three optional register
// stages -- the input registers (A, B and their sign controls), the pipeline register after the
// multiplier, the output register -- each clocked by the CLKn named in its REG_*_CLK parameter
// ("NONE" = combinational), enabled by the CEn of REG_*_CE and cleared (synchronously, over the
// enable) by the RSTn of REG_*_RST.
//
// Covered: what qmac instantiates (hw/dsp.py): parallel A/B inputs (SOURCEA = SOURCEB = 0),
// clock CLK0, any CE0..CE3 / RST0..RST3 per register, RESETMODE "SYNC". Anything else (the C port,
// shift and cascade chains, MULT_BYPASS, other clocks) stops the simulation instead of being
// modelled wrong. The ROA/ROB/ROC/SROA/SROB outputs are not provided.
`default_nettype none
module MULT18X18D (
    input wire A0, A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16, A17,
    input wire B0, B1, B2, B3, B4, B5, B6, B7, B8, B9, B10, B11, B12, B13, B14, B15, B16, B17,
    input wire C0, C1, C2, C3, C4, C5, C6, C7, C8, C9, C10, C11, C12, C13, C14, C15, C16, C17,
    input wire SIGNEDA, SIGNEDB, SOURCEA, SOURCEB,
    input wire CLK0, CLK1, CLK2, CLK3, CE0, CE1, CE2, CE3, RST0, RST1, RST2, RST3,
    output wire P0, P1, P2, P3, P4, P5, P6, P7, P8, P9, P10, P11, P12, P13, P14, P15, P16, P17,
    output wire P18, P19, P20, P21, P22, P23, P24, P25, P26, P27, P28, P29, P30, P31, P32, P33,
    output wire P34, P35, SIGNEDP
);
    parameter REG_INPUTA_CLK = "NONE";
    parameter REG_INPUTA_CE = "CE0";
    parameter REG_INPUTA_RST = "RST0";
    parameter REG_INPUTB_CLK = "NONE";
    parameter REG_INPUTB_CE = "CE0";
    parameter REG_INPUTB_RST = "RST0";
    parameter REG_INPUTC_CLK = "NONE";
    parameter REG_INPUTC_CE = "CE0";
    parameter REG_INPUTC_RST = "RST0";
    parameter REG_PIPELINE_CLK = "NONE";
    parameter REG_PIPELINE_CE = "CE0";
    parameter REG_PIPELINE_RST = "RST0";
    parameter REG_OUTPUT_CLK = "NONE";
    parameter REG_OUTPUT_CE = "CE0";
    parameter REG_OUTPUT_RST = "RST0";
    parameter CLK0_DIV = "ENABLED";
    parameter CLK1_DIV = "ENABLED";
    parameter CLK2_DIV = "ENABLED";
    parameter CLK3_DIV = "ENABLED";
    parameter HIGHSPEED_CLK = "NONE";
    parameter GSR = "ENABLED";
    parameter CAS_MATCH_REG = "FALSE";
    parameter SOURCEB_MODE = "B_SHIFT";
    parameter MULT_BYPASS = "DISABLED";
    parameter RESETMODE = "SYNC";

    wire [17:0] a = {A17, A16, A15, A14, A13, A12, A11, A10, A9, A8, A7, A6, A5, A4, A3, A2, A1, A0};
    wire [17:0] b = {B17, B16, B15, B14, B13, B12, B11, B10, B9, B8, B7, B6, B5, B4, B3, B2, B1, B0};
    wire [3:0] ce = {CE3, CE2, CE1, CE0};
    wire [3:0] rst = {RST3, RST2, RST1, RST0};

    function automatic integer index(input [8*4-1:0] name);  // "CE2" -> 2, "RST1" -> 1
        index = name[7:0] - "0";
    endfunction
    function automatic integer clocked(input [8*4-1:0] name);
        clocked = name != "NONE";
    endfunction

    initial begin
        if ((clocked(REG_INPUTA_CLK) && REG_INPUTA_CLK != "CLK0")
            || (clocked(REG_INPUTB_CLK) && REG_INPUTB_CLK != "CLK0")
            || (clocked(REG_PIPELINE_CLK) && REG_PIPELINE_CLK != "CLK0")
            || (clocked(REG_OUTPUT_CLK) && REG_OUTPUT_CLK != "CLK0")
            || MULT_BYPASS != "DISABLED" || RESETMODE != "SYNC") begin
            $display("MULT18X18D model: unsupported configuration");
            $fatal;
        end
    end
    always @(posedge CLK0) begin
        if (SOURCEA !== 1'b0 || SOURCEB !== 1'b0) begin
            $display("MULT18X18D model: SOURCEA/SOURCEB (shift or cascade input) not modelled");
            $fatal;
        end
    end

    // Input stage (each operand with its sign control).
    reg [17:0] a_q = 18'd0, b_q = 18'd0;
    reg sa_q = 1'b0, sb_q = 1'b0;
    always @(posedge CLK0) begin
        if (rst[index(REG_INPUTA_RST)]) begin
            a_q <= 18'd0;
            sa_q <= 1'b0;
        end else if (ce[index(REG_INPUTA_CE)]) begin
            a_q <= a;
            sa_q <= SIGNEDA;
        end
        if (rst[index(REG_INPUTB_RST)]) begin
            b_q <= 18'd0;
            sb_q <= 1'b0;
        end else if (ce[index(REG_INPUTB_CE)]) begin
            b_q <= b;
            sb_q <= SIGNEDB;
        end
    end
    wire [17:0] a_s = clocked(REG_INPUTA_CLK) ? a_q : a;
    wire [17:0] b_s = clocked(REG_INPUTB_CLK) ? b_q : b;
    wire sa = clocked(REG_INPUTA_CLK) ? sa_q : SIGNEDA;
    wire sb = clocked(REG_INPUTB_CLK) ? sb_q : SIGNEDB;
    wire signed [18:0] a_x = {sa & a_s[17], a_s};
    wire signed [18:0] b_x = {sb & b_s[17], b_s};
    wire signed [37:0] full = a_x * b_x;
    wire [35:0] product = full[35:0];

    // Pipeline and output stages.
    reg [35:0] pipe_q = 36'd0, out_q = 36'd0;
    wire [35:0] pipe_s = clocked(REG_PIPELINE_CLK) ? pipe_q : product;
    always @(posedge CLK0) begin
        if (rst[index(REG_PIPELINE_RST)])
            pipe_q <= 36'd0;
        else if (ce[index(REG_PIPELINE_CE)])
            pipe_q <= product;
        if (rst[index(REG_OUTPUT_RST)])
            out_q <= 36'd0;
        else if (ce[index(REG_OUTPUT_CE)])
            out_q <= pipe_s;
    end
    wire [35:0] p = clocked(REG_OUTPUT_CLK) ? out_q : pipe_s;
    assign {P35, P34, P33, P32, P31, P30, P29, P28, P27, P26, P25, P24, P23, P22, P21, P20, P19,
            P18, P17, P16, P15, P14, P13, P12, P11, P10, P9, P8, P7, P6, P5, P4, P3, P2, P1, P0} = p;
    assign SIGNEDP = (sa & a_s[17]) ^ (sb & b_s[17]);
endmodule
`default_nettype wire
